package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileSinkFinishesInRuns runs the engine over a file writer, whose
// flusher acknowledges many records at once (finished per lane in runs):
// every partition's watermark must reach its end, the budget must empty,
// and the files must hold every record.
func TestFileSinkFinishesInRuns(t *testing.T) {
	dir := t.TempDir()
	fs := builtinSink(t, "file_writer", map[string]any{"file": filepath.Join(dir, "out{}"), "mode": "wb", "flush_interval_ms": 5}, 3)
	e := NewEngine(Config{Workers: 3, Logger: quietLogger(), Flow: FlowConfig{MaxInFlightRecords: 700}}, passthrough,
		map[string]Sink{"out": fs}, []string{"out"}, nil)
	e.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const parts, perPart = 4, 3000
	lanes := make([]Lane, parts)
	for p := range lanes {
		lanes[p] = e.Open("in", "t", int32(p))
	}
	done := make(chan error, parts)
	for p := range lanes {
		go func() {
			recs := make([]Record, perPart)
			for i := range recs {
				recs[i] = Record{Offset: int64(i) * 2, Key: []byte(fmt.Sprint("k", i%37)), Value: []byte(fmt.Sprint(p, "-", i))}
			}
			done <- lanes[p].Submit(ctx, recs)
		}()
	}
	for range lanes {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for p, l := range lanes {
		next, ok := l.Drain(ctx)
		if !ok || next != 2*(perPart-1)+1 {
			t.Errorf("partition %d: watermark %d %v, want %d", p, next, ok, 2*(perPart-1)+1)
		}
	}
	if st := e.Stats(); st.InFlightRecords != 0 || st.InFlightBytes != 0 || st.Processed != parts*perPart {
		t.Errorf("stats %+v", st)
	}
	e.Stop(ctx)
	if err := fs.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for w := range 3 {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprint("out", w)))
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
	}
	if lines != parts*perPart {
		t.Errorf("%d lines written, want %d", lines, parts*perPart)
	}
}
