package producer

import (
	"bytes"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime/internal/sinktest"
)

// The acknowledgement log of runtime/internal/sinktest, under the name the
// tests use.
type ackLog = sinktest.AckLog

func newAckLog(t testing.TB, want int) *ackLog { return sinktest.NewAckLog(t, want) }

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
