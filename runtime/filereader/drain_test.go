package filereader_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filereader"
)

// stuckIntake opens one lane whose records never finish: its Drain waits
// until its context ends.
type stuckIntake struct {
	submitted atomic.Int64
	draining  chan struct{}
}

func (s *stuckIntake) Open(string, string, int32) runtime.Lane { return stuckLane{s} }

type stuckLane struct{ s *stuckIntake }

func (l stuckLane) Submit(_ context.Context, recs []runtime.Record) error {
	l.s.submitted.Add(int64(len(recs)))
	return nil
}
func (l stuckLane) Committable() (int64, bool) { return 0, false }
func (l stuckLane) Drain(ctx context.Context) (int64, bool) {
	close(l.s.draining)
	<-ctx.Done()
	return 0, false
}
func (stuckLane) SetHighWaterMark(int64) {}
func (stuckLane) SetCommitted(int64)     {}

// TestFileSourceShutdownDuringFinalDrain: the input is read to its end and
// the source waits for its records to finish (an outbound client that
// stays down keeps them unfinished); a shutdown then still ends Run within
// the drain budget instead of waiting for ever (a SIGTERM used to hang).
func TestFileSourceShutdownDuringFinalDrain(t *testing.T) {
	defer filereader.SetDrainBudget(10 * time.Millisecond)()
	in := filepath.Join(t.TempDir(), "in.log")
	if err := os.WriteFile(in, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := filereader.NewSource("replay", filereader.Config{Path: in, Framing: "lines"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	intake := &stuckIntake{draining: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, intake) }()
	<-intake.draining // at the end of the input, waiting for the records
	cancel()          // the shutdown
	if err := <-done; err != nil {
		t.Fatalf("Run after a shutdown during the final drain: %v, want nil", err)
	}
	if n := intake.submitted.Load(); n != 3 {
		t.Fatalf("%d records submitted, want 3", n)
	}
}
