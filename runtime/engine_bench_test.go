package runtime

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
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
			cpu0 := cpuTime()
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
			// CPU time per record, all goroutines and the GC included: on a
			// shared machine steadier than the wall time.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			e.Stop(ctx)
		})
	}
}

// BenchmarkEngineFile is the kafka→file shape (bench workload W3) without
// the broker: 6 partitions submitted concurrently, 10k keys, 100 B values,
// 4 workers, a file writer with one file per worker, acknowledged after
// each fsync.
func BenchmarkEngineFile(b *testing.B) {
	const parts, batch, keys = 6, 512, 10_000
	fs := builtinSink(b, "file_writer", map[string]any{"file": filepath.Join(b.TempDir(), "out{}"), "mode": "wb"}, 4)
	e := NewEngine(Config{Workers: 4, Logger: quietLogger()}, passthrough,
		map[string]Sink{"out": fs}, []string{"out"}, nil)
	e.Start()
	ctx := context.Background()
	val := bytes.Repeat([]byte("v"), 100)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := e.Open("in", "t", int32(p))
			recs := make([]Record, batch)
			for i := range recs {
				recs[i].Key = []byte(fmt.Sprintf("key-%d", (i*parts+p)*7919%keys))
				recs[i].Value = val
			}
			var off int64
			for n := p * batch; n < b.N; n += parts * batch {
				for i := range recs {
					recs[i].Offset = off
					off++
				}
				if err := l.Submit(ctx, recs); err != nil {
					b.Error(err)
					return
				}
			}
			l.Drain(ctx)
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	e.Stop(ctx)
	fs.Close(ctx)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTaskLayout keeps each task's acknowledgement fields in one cache
// line: tasks are a multiple of 64 bytes (slabs are page-aligned) and
// those fields come first.
func TestTaskLayout(t *testing.T) {
	var tk task
	if size := unsafe.Sizeof(tk); size%64 != 0 {
		t.Errorf("task is %d bytes, not a multiple of 64", size)
	}
	if end := unsafe.Offsetof(tk.resend) + 1; end > 64 {
		t.Errorf("acknowledgement fields end at byte %d, past the first cache line", end)
	}
}

// TestEngineAllocBudget keeps the per-record allocations of the engine's
// path within budget: with a handler returning a []Output literal (one
// allocation of its own) and with one returning Record.Out (none).
func TestEngineAllocBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation measurement")
	}
	forward := func(_ context.Context, r *Record) ([]Output, error) {
		return r.Out(Output{Key: r.Key, Value: r.Value, Headers: r.Headers}), nil
	}
	tests := []struct {
		name    string
		handler Handler
		budget  float64
	}{
		{"literal", passthrough, 1.5},
		{"Record.Out", forward, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := make([]Record, 512)
			for i := range recs {
				recs[i].Key = []byte(fmt.Sprintf("key-%d", i%100))
			}
			e := NewEngine(Config{Workers: 2, Logger: quietLogger()}, tt.handler,
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
			if perRecord > tt.budget {
				t.Fatalf("%.2f allocations per record, budget %.1f", perRecord, tt.budget)
			}
		})
	}
}
