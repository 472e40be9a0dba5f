package wire

import (
	"encoding/binary"
	"errors"
)

// ErrTruncated is a response or batch shorter than its own lengths say.
var ErrTruncated = errors.New("truncated: shorter than its own lengths say")

// Reader reads big-endian fields and zig-zag varints off B, what is left
// of a buffer, without a copy or an allocation per field (the consumer's
// fetch decoding and the producer's response reading share it). The
// first read past the end sets Err to ErrTruncated (when not set yet),
// empties B, and every read from then on returns zeros, so a caller
// checks Err once after a run of reads.
type Reader struct {
	B   []byte
	Err error
}

// Fail records ErrTruncated and empties B.
func (r *Reader) Fail() {
	if r.Err == nil {
		r.Err = ErrTruncated
	}
	r.B = nil
}

func (r *Reader) Int8() int8 {
	if len(r.B) < 1 {
		r.Fail()
		return 0
	}
	v := int8(r.B[0])
	r.B = r.B[1:]
	return v
}

func (r *Reader) Int16() int16 {
	if len(r.B) < 2 {
		r.Fail()
		return 0
	}
	v := int16(binary.BigEndian.Uint16(r.B))
	r.B = r.B[2:]
	return v
}

func (r *Reader) Int32() int32 {
	if len(r.B) < 4 {
		r.Fail()
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.B))
	r.B = r.B[4:]
	return v
}

func (r *Reader) Int64() int64 {
	if len(r.B) < 8 {
		r.Fail()
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.B))
	r.B = r.B[8:]
	return v
}

func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Bytes returns the next n bytes (nil for n < 0: a null field), capped so
// that appending to them cannot overwrite what follows.
func (r *Reader) Bytes(n int) []byte {
	if n < 0 {
		return nil
	}
	if len(r.B) < n {
		r.Fail()
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// Bytes16 returns a nullable string's bytes (nil when null).
func (r *Reader) Bytes16() []byte { return r.Bytes(int(r.Int16())) }

// String16 reads a nullable string; null reads as "".
func (r *Reader) String16() string { return string(r.Bytes16()) }

// Count reads an array's length: a null array (negative) is empty, and a
// length whose elements, each at least minSize bytes, cannot fit in what
// is left fails the reader, so a hostile count never drives a long loop
// or a large allocation.
func (r *Reader) Count(minSize int) int {
	n := r.Int32()
	if n < 0 || r.Err != nil {
		return 0
	}
	if int(n) > len(r.B)/max(minSize, 1) {
		r.Fail()
		return 0
	}
	return int(n)
}
