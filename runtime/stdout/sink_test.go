package stdout

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kgen-dev/kgen/runtime"
	"go.uber.org/goleak"
)

// lockedBuffer is an io.Writer safe to read while the sink writes, and
// able to fail.
type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	fail error
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return 0, b.fail
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStdoutSinkValueFormat(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := &lockedBuffer{}
	s, err := NewSink(Config{}, out)
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog(t, len(sinkTestValues))
	// Every ack comes after its record reached the writer.
	acks.OnDone = func(i int, err error) {
		var line bytes.Buffer
		for _, c := range sinkTestValues[i] {
			switch c {
			case '\n':
				line.WriteString(`\n`)
			case '\\':
				line.WriteString(`\\`)
			default:
				line.WriteByte(c)
			}
		}
		if !strings.Contains(out.String(), line.String()+"\n") {
			t.Errorf("record %d acknowledged (err %v) before it was written", i, err)
		}
	}
	for i, v := range sinkTestValues {
		if err := s.Write(context.Background(), []runtime.Message{{Value: v, Ack: acks.Ack(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	acks.Wait(2 * time.Second) // the interval flushes, before Close
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, []byte(out.String()))
	if len(got) != len(sinkTestValues) {
		t.Fatalf("%d lines, want %d", len(got), len(sinkTestValues))
	}
	for i, v := range sinkTestValues {
		if !bytes.Equal(got[i], v) {
			t.Errorf("line %d = %q, want %q", i, got[i], v)
		}
	}
}

// jsonRecord is one line of the "json" format as encoding/json reads it.
type jsonRecord struct {
	Key     json.RawMessage            `json:"key"`
	Value   json.RawMessage            `json:"value"`
	Headers map[string]json.RawMessage `json:"headers"`
}

// decodeJSONBytes reverses appendJSONBytes: a string, null, or {"base64":...}.
func decodeJSONBytes(t testing.TB, raw json.RawMessage) []byte {
	t.Helper()
	if string(raw) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []byte(s)
	}
	var b struct{ Base64 string }
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s is neither a string nor a base64 object: %v", raw, err)
	}
	v, err := base64.StdEncoding.DecodeString(b.Base64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStdoutSinkJSONFormat(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := &lockedBuffer{}
	s, err := NewSink(Config{Format: "json"}, out)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []runtime.Message{
		{Key: []byte("k1"), Value: []byte(`quote " backslash \ newline` + "\n tab\t bell\x07 sep\u2028 ✓"),
			Headers: []runtime.Header{{Key: "trace", Value: []byte("abc")}, {Key: "bin", Value: []byte{0xff, 0}}}},
		{Key: nil, Value: []byte{0xc3, 0x28}}, // invalid UTF-8
		{Key: []byte{}, Value: nil},
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(msgs) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(msgs), out.String())
	}
	for i, line := range lines {
		var rec jsonRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if got := decodeJSONBytes(t, rec.Key); !bytes.Equal(got, msgs[i].Key) || (got == nil) != (msgs[i].Key == nil) {
			t.Errorf("line %d: key %q, want %q", i, got, msgs[i].Key)
		}
		if got := decodeJSONBytes(t, rec.Value); !bytes.Equal(got, msgs[i].Value) {
			t.Errorf("line %d: value %q, want %q", i, got, msgs[i].Value)
		}
		if rec.Headers == nil || len(rec.Headers) != len(msgs[i].Headers) {
			t.Errorf("line %d: headers %v, want %d", i, rec.Headers, len(msgs[i].Headers))
		}
		for _, h := range msgs[i].Headers {
			if got := decodeJSONBytes(t, rec.Headers[h.Key]); !bytes.Equal(got, h.Value) {
				t.Errorf("line %d: header %s = %q, want %q", i, h.Key, got, h.Value)
			}
		}
	}
	if !strings.Contains(lines[1], `"value":{"base64":"wyg="}`) || !strings.Contains(lines[1], `"key":null`) {
		t.Errorf("invalid UTF-8 not written as base64: %s", lines[1])
	}
}

// FuzzStdoutJSON states the JSON format's invariants: every record is one
// line of valid JSON that decodes to the original bytes.
func FuzzStdoutJSON(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), "h", []byte("hv"))
	f.Add([]byte{0xff}, []byte("\"\\\n\u2028"), "\x00", []byte{0xc3})
	f.Fuzz(func(t *testing.T, key, value []byte, hkey string, hvalue []byte) {
		line := appendJSONRecord(nil, &runtime.Message{Key: key, Value: value, Headers: []runtime.Header{{Key: hkey, Value: hvalue}}})
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("not one line: %q", line)
		}
		var rec jsonRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := decodeJSONBytes(t, rec.Key); !bytes.Equal(got, key) {
			t.Fatalf("key %q, want %q", got, key)
		}
		if got := decodeJSONBytes(t, rec.Value); !bytes.Equal(got, value) {
			t.Fatalf("value %q, want %q", got, value)
		}
		if utf8.ValidString(hkey) {
			if got := decodeJSONBytes(t, rec.Headers[hkey]); !bytes.Equal(got, hvalue) {
				t.Fatalf("header value %q, want %q", got, hvalue)
			}
		}
	})
}

func TestStdoutSinkWriteErrorFailsRecords(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := &lockedBuffer{fail: syscall.EPIPE}
	s, err := NewSink(Config{Format: "value"}, out)
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog(t, 2)
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("a"), Ack: acks.Ack(0)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for acks.Count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("b"), Ack: acks.Ack(1)}}); err != nil {
		t.Fatal(err)
	}
	acks.Wait(2 * time.Second)
	for i := range 2 {
		if err, _ := acks.Err(i); !errors.Is(err, syscall.EPIPE) || !runtime.IsPermanent(err) {
			t.Errorf("record %d: err = %v, want a permanent EPIPE", i, err)
		}
	}
	if err := s.Ready(); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Ready = %v, want the write error", err)
	}
	if err := s.Close(context.Background()); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Close = %v, want the write error", err)
	}
}

func TestStdoutSinkCloseAcksEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := &lockedBuffer{}
	s, err := NewSink(Config{Format: "json"}, out)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	acks := newAckLog(t, n)
	for i := range n {
		if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("v"), Ack: acks.Ack(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if acks.Count() != n {
		t.Errorf("%d of %d acknowledged when Close returned", acks.Count(), n)
	}
	if got := strings.Count(out.String(), "\n"); got != n {
		t.Errorf("%d lines written, want %d", got, n)
	}
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("late"), Ack: acks.Ack(n)}}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if _, err := NewSink(Config{Format: "xml"}, out); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("format xml: err = %v", err)
	}
}
