package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFailureMidRoundKeepsKeyOrder fails records in the middle of a run
// of one queue's records (a worker takes an unkeyed partition's waiting
// records together): the records after a failed one must wait for it,
// under every policy; keyed records likewise.
func TestFailureMidRoundKeepsKeyOrder(t *testing.T) {
	const n = 400
	for _, tc := range []struct {
		name    string
		policy  OnFailure
		unkeyed bool
	}{
		{"retry", Stop, false},
		{"retry/unkeyed", Stop, true},
		{"skip", Skip, false},
		{"dead_letter", DeadLetter, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			tries := map[int64]int{}
			h := func(ctx context.Context, r *Record) ([]Output, error) {
				mu.Lock()
				tries[r.Offset]++
				k := tries[r.Offset]
				mu.Unlock()
				// Every 50th record fails twice, then succeeds (retry) or
				// for good (skip, dead letter: MaxRetries 0).
				if r.Offset%50 == 7 && (k <= 2 || tc.name != "retry" && tc.name != "retry/unkeyed") {
					return nil, errors.New("flaky")
				}
				return passthrough(ctx, r)
			}
			recs := keyed("t", 0, n, 3)
			if tc.unkeyed {
				for i := range recs {
					recs[i].Key = nil
				}
			}
			retries := 5
			if tc.policy != Stop {
				retries = 0
			}
			cfg := Config{Workers: 4, Logger: quietLogger(),
				Inbound: []InboundConfig{{ID: "in", MaxRetries: retries}},
				Failure: FailurePolicy{OnFailure: tc.policy, Backoff: time.Millisecond}}
			res, err := RunInMemory(context.Background(), cfg, h, recs)
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]int{}
			count := 0
			for _, m := range res.Outputs["out"] {
				var off int
				fmt.Sscanf(string(m.Value), "v%d", &off)
				if prev, ok := last[string(m.Key)]; ok && off <= prev {
					t.Fatalf("key %q: offset %d written after %d", m.Key, off, prev)
				}
				last[string(m.Key)] = off
				count++
			}
			want := n
			if tc.policy != Stop {
				want -= n / 50
			}
			if count != want {
				t.Errorf("%d outputs, want %d", count, want)
			}
			if res.Committed["t/0"] != n {
				t.Errorf("committed %d, want %d", res.Committed["t/0"], n)
			}
		})
	}
}
