package runtime

import (
	"context"
	"fmt"
	"testing"
)

// ackSink acknowledges every message at once and keeps nothing: the
// engine's own per-record cost, without a client.
type ackSink struct{}

func (ackSink) Write(_ context.Context, msgs []Message) error {
	for i := range msgs {
		msgs[i].Ack.Done(nil)
	}
	return nil
}
func (ackSink) Close(context.Context) error { return nil }

// BenchmarkEngine measures the per-record path: dispatch by key, the
// handler call, the output hand-off, acknowledgement and commit tracking.
// Allocation budget: see TestEngineAllocBudget.
func BenchmarkEngine(b *testing.B) {
	for _, tc := range []struct {
		name    string
		workers int
		keys    int
	}{
		{"workers=1/keys=1000", 1, 1000},
		{"workers=4/keys=1000", 4, 1000},
		{"workers=4/unkeyed", 4, 0},
		{"workers=64/keys=100000", 64, 100000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const batch = 512
			recs := make([]Record, batch)
			for i := range recs {
				if tc.keys > 0 {
					recs[i].Key = []byte(fmt.Sprintf("key-%d", i*7919%tc.keys))
				}
				recs[i].Value = make([]byte, 100)
			}
			e := NewEngine(Config{Workers: tc.workers, Logger: quietLogger()}, passthrough,
				map[string]Sink{"out": ackSink{}}, []string{"out"}, nil)
			e.Start()
			l := e.Open("in", "t", 0)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			var off int64
			for n := 0; n < b.N; n += batch {
				for i := range recs {
					recs[i].Offset = off
					off++
				}
				if err := l.Submit(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			l.Drain(ctx)
			b.StopTimer()
			e.Stop(ctx)
		})
	}
}

// TestEngineAllocBudget keeps the per-record allocations of the engine's
// path (not counting the handler's own output slice) within budget.
func TestEngineAllocBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation measurement")
	}
	recs := make([]Record, 512)
	for i := range recs {
		recs[i].Key = []byte(fmt.Sprintf("key-%d", i%100))
	}
	e := NewEngine(Config{Workers: 2, Logger: quietLogger()}, passthrough,
		map[string]Sink{"out": ackSink{}}, []string{"out"}, nil)
	e.Start()
	defer e.Stop(context.Background())
	l := e.Open("in", "t", 0)
	var off int64
	allocs := testing.AllocsPerRun(20, func() {
		for i := range recs {
			recs[i].Offset = off
			off++
		}
		if err := l.Submit(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		for {
			if next, ok := l.Committable(); ok && next == off {
				break
			}
		}
	})
	perRecord := allocs / float64(len(recs))
	t.Logf("%.2f allocations per record", perRecord)
	// One for the handler's []Output (passthrough), the rest the engine's.
	const budget = 1.5
	if perRecord > budget {
		t.Fatalf("%.2f allocations per record, budget %.1f", perRecord, budget)
	}
}
