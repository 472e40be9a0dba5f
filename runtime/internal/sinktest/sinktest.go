// Package sinktest holds what the built-in sinks' tests share: a log of
// acknowledgements that fails the test on a second outcome for one
// message, and values that stress the "lines" framing. It is imported by
// tests only.
package sinktest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime/internal/frame"
)

// AckLog records the outcome of numbered messages and fails the test on a
// second Done for the same message.
type AckLog struct {
	// OnDone, when set before the first Done, runs before each outcome is
	// recorded.
	OnDone func(i int, err error)

	t    testing.TB
	mu   sync.Mutex
	errs map[int]error
	want int
	all  chan struct{}
}

// NewAckLog returns a log expecting want outcomes.
func NewAckLog(t testing.TB, want int) *AckLog {
	return &AckLog{t: t, errs: map[int]error{}, want: want, all: make(chan struct{})}
}

// Ref is message i's Acker (a runtime.Acker).
type Ref struct {
	l *AckLog
	i int
}

// Done records message i's outcome.
func (a *Ref) Done(err error) {
	if a.l.OnDone != nil {
		a.l.OnDone(a.i, err)
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	if _, dup := a.l.errs[a.i]; dup {
		a.l.t.Errorf("message %d acknowledged twice (now with %v)", a.i, err)
		return
	}
	a.l.errs[a.i] = err
	if len(a.l.errs) == a.l.want {
		close(a.l.all)
	}
}

// Ack returns message i's Acker.
func (l *AckLog) Ack(i int) *Ref { return &Ref{l: l, i: i} }

// Count is how many messages have an outcome.
func (l *AckLog) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}

// Failed is how many messages have an error as their outcome.
func (l *AckLog) Failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, err := range l.errs {
		if err != nil {
			n++
		}
	}
	return n
}

// Err is message i's outcome, and whether it has one.
func (l *AckLog) Err(i int) (error, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err, ok := l.errs[i]
	return err, ok
}

// Wait waits until every wanted message has its outcome, failing the test
// after timeout.
func (l *AckLog) Wait(timeout time.Duration) {
	l.t.Helper()
	select {
	case <-l.all:
	case <-time.After(timeout):
		l.t.Fatalf("%d of %d messages acknowledged after %s", l.Count(), l.want, timeout)
	}
}

// Values are values that stress the "lines" framing.
var Values = [][]byte{
	[]byte("plain"),
	{},
	[]byte("two\nlines"),
	[]byte("\n"),
	[]byte("\n\n"),
	[]byte(`back\slash`),
	[]byte(`\`),
	[]byte(`\\`),
	[]byte(`\n`),   // a backslash and an n: must not come back as a newline
	[]byte("\\\n"), // a backslash then a newline
	[]byte("ends with \\"),
	[]byte("carriage\r\nreturn"),
	[]byte("ünïcödé ✓"),
}

// ReadLines decodes a "lines" framed file.
func ReadLines(t testing.TB, data []byte) [][]byte {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("file does not end with a newline: %q", data)
	}
	var out [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		out = append(out, frame.DecodeLine(data[:i]))
		data = data[i+1:]
	}
	return out
}
