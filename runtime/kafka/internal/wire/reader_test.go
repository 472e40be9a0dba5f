package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestReader(t *testing.T) {
	var b []byte
	b = append(b, 0x7f)
	b = binary.BigEndian.AppendUint16(b, 0xfffe)
	b = binary.BigEndian.AppendUint32(b, 7)
	b = binary.BigEndian.AppendUint64(b, 1<<40)
	b = binary.AppendVarint(b, -300)
	b = binary.BigEndian.AppendUint16(b, 2)
	b = append(b, "hi"...)
	b = binary.BigEndian.AppendUint16(b, 0xffff) // a null string
	r := Reader{B: b}
	if v := r.Int8(); v != 0x7f {
		t.Fatalf("Int8 %d", v)
	}
	if v := r.Int16(); v != -2 {
		t.Fatalf("Int16 %d", v)
	}
	if v := r.Int32(); v != 7 {
		t.Fatalf("Int32 %d", v)
	}
	if v := r.Int64(); v != 1<<40 {
		t.Fatalf("Int64 %d", v)
	}
	if v := r.Varint(); v != -300 {
		t.Fatalf("Varint %d", v)
	}
	if v := r.String16(); v != "hi" {
		t.Fatalf("String16 %q", v)
	}
	if v := r.Bytes16(); v != nil {
		t.Fatalf("null Bytes16 %q, want nil", v)
	}
	if r.Err != nil || len(r.B) != 0 {
		t.Fatalf("after every field: err %v, %d bytes left", r.Err, len(r.B))
	}
	// Past the end: ErrTruncated, zeros from then on, even where bytes remain.
	if v := r.Int32(); v != 0 || !errors.Is(r.Err, ErrTruncated) {
		t.Fatalf("past the end: %d, %v", v, r.Err)
	}
	r.B = []byte{1, 2, 3, 4}
	r.Fail()
	if len(r.B) != 0 {
		t.Fatal("Fail left bytes to read")
	}
}

func TestReaderBytesCapped(t *testing.T) {
	r := Reader{B: []byte("abcdef")}
	v := r.Bytes(3)
	v = append(v, 'X')
	if string(r.B) != "def" || string(v) != "abcX" {
		t.Fatalf("appending to a field overwrote what follows: %q %q", v, r.B)
	}
}

func TestReaderCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int32
		left    int
		minSize int
		want    int
		fails   bool
	}{
		{"fits", 3, 12, 4, 3, false},
		{"exactly", 3, 12, 4, 3, false},
		{"one too many", 4, 12, 4, 0, true},
		{"null", -1, 12, 4, 0, false},
		{"huge", 1 << 30, 100, 6, 0, true},
		{"zero size counts as one", 5, 5, 0, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := binary.BigEndian.AppendUint32(nil, uint32(tc.n))
			r := Reader{B: append(b, make([]byte, tc.left)...)}
			got := r.Count(tc.minSize)
			if got != tc.want || (r.Err != nil) != tc.fails {
				t.Fatalf("Count = %d, err %v; want %d, fails %v", got, r.Err, tc.want, tc.fails)
			}
		})
	}
}
