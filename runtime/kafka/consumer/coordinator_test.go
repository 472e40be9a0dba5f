package consumer

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// TestCommitAtCoordinatorFoundAnew: a generation's commit that fails
// because its coordinator is gone or moved is sent, with the same
// generation and member id, to the coordinator found anew (a fake broker
// here); a commit the broker refused is not, nor one refused again there.
func TestCommitAtCoordinatorFoundAnew(t *testing.T) {
	offsets := map[string]map[int]int64{"t": {0: 41, 1: 7}}
	tests := []struct {
		name      string
		genErr    error // the generation's own commit
		findErr   int16 // FindCoordinator's error until the first backoff
		stuck     bool  // FindCoordinator keeps failing; ctx ends after 3 backoffs
		commitErr int16 // the new coordinator's answer to the commit
		wantErr   error // nil: committed at the new coordinator
		wantSent  int   // OffsetCommits the fake got
		wantFinds int
	}{
		{name: "generation commits", wantSent: 0},
		{name: "connection lost", genErr: io.ErrUnexpectedEOF, wantSent: 1, wantFinds: 1},
		{name: "not coordinator", genErr: kafka.NotCoordinatorForGroup, wantSent: 1, wantFinds: 1},
		{name: "coordinator loading", genErr: kafka.GroupLoadInProgress, findErr: 14, wantSent: 1, wantFinds: 2},
		{name: "coordinator not available yet", genErr: kafka.GroupCoordinatorNotAvailable, findErr: 15, wantSent: 1, wantFinds: 2},
		{name: "illegal generation stops", genErr: kafka.IllegalGeneration, wantErr: kafka.IllegalGeneration},
		{name: "unknown member stops", genErr: kafka.UnknownMemberId, wantErr: kafka.UnknownMemberId},
		{name: "rebalance in progress stops", genErr: kafka.RebalanceInProgress, wantErr: kafka.RebalanceInProgress},
		{name: "new coordinator refuses the generation", genErr: io.EOF, commitErr: 22,
			wantErr: kafka.IllegalGeneration, wantSent: 1, wantFinds: 1},
		{name: "no coordinator until ctx ends", genErr: io.EOF, findErr: 15, stuck: true,
			wantErr: kafka.GroupCoordinatorNotAvailable, wantFinds: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFakeBroker(t, map[string]int{"t": 2})
			b.coordinatorErr, b.commitErr = tt.findErr, tt.commitErr
			// A bootstrap broker that refuses connections is passed over.
			down := closedAddr(t)
			src, err := NewSource("in", Config{Brokers: []string{down, b.addr()}, GroupID: "g", Topics: []string{"t"}},
				time.Second, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(src.transport.CloseIdleConnections)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			waits := 0
			src.sleep = func(context.Context, time.Duration) {
				waits++
				b.mu.Lock()
				defer b.mu.Unlock()
				switch {
				case !tt.stuck:
					b.coordinatorErr = 0
				case waits == 3:
					cancel()
				}
			}
			genCommits := 0
			commit := src.commitWithFallback(func(o map[string]map[int]int64) error {
				genCommits++
				return tt.genErr
			}, 7, "m1")

			err = commit(ctx, offsets)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("commit = %v, want %v", err, tt.wantErr)
			}
			if genCommits != 1 {
				t.Fatalf("the generation's commit ran %d times, want 1", genCommits)
			}
			if n := b.count(protocol.FindCoordinator); n != tt.wantFinds {
				t.Errorf("%d FindCoordinator requests, want %d", n, tt.wantFinds)
			}
			b.mu.Lock()
			ids := slices.Clone(b.commitIDs)
			b.mu.Unlock()
			if len(ids) != tt.wantSent {
				t.Fatalf("OffsetCommits at the new coordinator: %q, want %d", ids, tt.wantSent)
			}
			for _, id := range ids {
				if id != "7/m1" {
					t.Errorf("OffsetCommit as %q, want the generation's 7/m1", id)
				}
			}
			want := map[int32]int64{0: -1, 1: -1}
			if tt.wantErr == nil && tt.wantSent > 0 {
				want = map[int32]int64{0: 41, 1: 7}
			}
			for p, off := range want {
				if got := b.committedOffset("t", p); got != off {
					t.Errorf("committed t/%d = %d, want %d", p, got, off)
				}
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
