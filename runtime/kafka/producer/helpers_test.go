package producer

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// Test helpers shared with the file writer's tests (runtime/sink_file_test.go).

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

func sinkTestLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
func quietLogger() *slog.Logger    { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
