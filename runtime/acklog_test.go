package runtime

import (
	"log/slog"
	"sync"
	"testing"
	"time"
)

// Test helpers of the sinks' tests (the file writer's, runtime/filewriter,
// have their own copy).

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

func (l *ackLog) ack(i int) Acker { return &ackRef{l: l, i: i} }

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
