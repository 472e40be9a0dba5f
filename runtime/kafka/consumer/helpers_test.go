package consumer

import (
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filewriter"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// The tests that run the processor (runtime.Run) find the consumer and the
// file writer by their names, as runtime/builtin registers them outside the
// package's tests.
func init() {
	runtime.Register(Client)
	runtime.Register(filewriter.Client)
}
