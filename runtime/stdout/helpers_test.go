package stdout

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
)

// Test helpers shared with the file writer's tests (runtime/filewriter).

// ackLog records the outcome of numbered messages and fails the test on a
// second Done for the same message.
type ackLog struct {
	t      testing.TB
	mu     sync.Mutex
	errs   map[int]error
	want   int
	all    chan struct{}
	onDone func(i int, err error) // runs before the outcome is recorded
}

func newAckLog(t testing.TB, want int) *ackLog {
	return &ackLog{t: t, errs: map[int]error{}, want: want, all: make(chan struct{})}
}

type ackRef struct {
	l *ackLog
	i int
}

func (a *ackRef) Done(err error) {
	if a.l.onDone != nil {
		a.l.onDone(a.i, err)
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

func (l *ackLog) ack(i int) runtime.Acker { return &ackRef{l: l, i: i} }

func (l *ackLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}

func (l *ackLog) err(i int) (error, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err, ok := l.errs[i]
	return err, ok
}

// wait waits until every wanted message was acknowledged.
func (l *ackLog) wait(timeout time.Duration) {
	l.t.Helper()
	select {
	case <-l.all:
	case <-time.After(timeout):
		l.t.Fatalf("%d of %d messages acknowledged after %s", l.count(), l.want, timeout)
	}
}

// sinkTestValues are values that stress the "lines" framing.
var sinkTestValues = [][]byte{
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

func readLines(t *testing.T, data []byte) [][]byte {
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
