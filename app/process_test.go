package app

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// text is a Codec of string values that refuses "bad" on both sides.
var text = Codec[string, string]{
	DecodeIn:  decodeText,
	EncodeIn:  encodeText,
	DecodeOut: decodeText,
	EncodeOut: encodeText,
}

func decodeText(b []byte) (string, error) {
	if string(b) == "bad" {
		return "", &DecodeError{Err: errors.New("bad value")}
	}
	return string(b), nil
}

func encodeText(s string) ([]byte, error) {
	if s == "bad" {
		return nil, errors.New("bad value")
	}
	return []byte(s), nil
}

func TestHandler(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &runtime.Record{Source: "in", Topic: "t", Partition: 2, Offset: 7, Key: []byte("k"),
		Value: []byte("v"), Headers: []runtime.Header{{Key: "h", Value: []byte("x")}}, Time: at}
	var got Input[string, string]
	h := Handler(text, func(_ context.Context, in Input[string, string]) ([]Output[string], error) {
		got = in
		return in.Out(Output[string]{Key: in.Key, Value: in.Value + "!", Headers: in.Headers, Timestamp: at.Add(time.Second), To: []string{"out"}}), nil
	})
	outs, err := h(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "in" || got.Topic != "t" || got.Partition != 2 || got.Offset != 7 || string(got.Key) != "k" ||
		got.Value != "v" || string(got.RawValue) != "v" || len(got.Headers) != 1 || !got.Time.Equal(at) {
		t.Errorf("Process got %+v, want the record's fields with Value and RawValue %q", got, "v")
	}
	if len(outs) != 1 {
		t.Fatalf("%d outputs, want 1", len(outs))
	}
	o := outs[0]
	if string(o.Key) != "k" || string(o.Value) != "v!" || len(o.Headers) != 1 || !o.Timestamp.Equal(at.Add(time.Second)) || len(o.To) != 1 || o.To[0] != "out" {
		t.Errorf("output %+v, want key k, value v!, the header, the timestamp and To [out]", o)
	}
}

func TestHandlerFailures(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		out       string
		procErr   error
		permanent bool
	}{
		{name: "undecodable value", value: "bad", permanent: true},
		{name: "unencodable output", value: "v", out: "bad", permanent: true},
		{name: "Process error", value: "v", procErr: errors.New("later"), permanent: false},
		{name: "Process permanent error", value: "v", procErr: runtime.Permanent(errors.New("never")), permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := Handler(text, func(_ context.Context, in Input[string, string]) ([]Output[string], error) {
				called = true
				if tt.procErr != nil {
					return nil, tt.procErr
				}
				return []Output[string]{{Value: tt.out}}, nil
			})
			outs, err := h(context.Background(), &runtime.Record{Value: []byte(tt.value)})
			if err == nil || outs != nil {
				t.Fatalf("handler = %v, %v; want no outputs and an error", outs, err)
			}
			if got := errors.Is(err, runtime.ErrPermanent); got != tt.permanent {
				t.Errorf("error %v permanent: %v, want %v", err, got, tt.permanent)
			}
			if called == (tt.value == "bad") {
				t.Errorf("Process called: %v for value %q", called, tt.value)
			}
		})
	}
}

func TestCodecConvert(t *testing.T) {
	num := Codec[string, int]{
		EncodeIn:  encodeText,
		DecodeOut: func(b []byte) (int, error) { return strconv.Atoi(string(b)) },
	}
	if got, err := num.Convert("42"); got != 42 || err != nil {
		t.Errorf("Convert(42) = %v, %v; want 42", got, err)
	}
	if _, err := num.Convert("bad"); err == nil {
		t.Error("Convert of a value EncodeIn refuses: no error")
	}
	if _, err := num.Convert("x"); err == nil {
		t.Error("Convert of a value DecodeOut refuses: no error")
	}
}

func TestInputOutWithoutBuffer(t *testing.T) {
	outs := []Output[string]{{Value: "a"}, {Value: "b"}}
	got := Input[string, string]{}.Out(outs...)
	if len(got) != 2 || got[0].Value != "a" || got[1].Value != "b" {
		t.Fatalf("Out = %v, want the outputs", got)
	}
	got[0].Value = "changed"
	if outs[0].Value != "a" {
		t.Error("Out without a worker buffer returned the caller's slice, want a copy")
	}
}

// BenchmarkHandler measures the adapter's cost per record: decode, Process
// (forwarding), encode, with bytes values.
func BenchmarkHandler(b *testing.B) {
	raw := Codec[[]byte, []byte]{
		DecodeIn:  func(b []byte) ([]byte, error) { return b, nil },
		EncodeIn:  func(v []byte) ([]byte, error) { return v, nil },
		DecodeOut: func(b []byte) ([]byte, error) { return b, nil },
		EncodeOut: func(v []byte) ([]byte, error) { return v, nil },
	}
	h := Handler(raw, func(_ context.Context, in Input[[]byte, []byte]) ([]Output[[]byte], error) {
		return in.Out(Output[[]byte]{Key: in.Key, Value: in.Value, Headers: in.Headers}), nil
	})
	rec := &runtime.Record{Topic: "t", Key: []byte("k"), Value: []byte("value")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}
