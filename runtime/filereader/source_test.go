package filereader_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	_ "github.com/kgen-dev/kgen/runtime/builtin"
	"github.com/kgen-dev/kgen/runtime/filereader"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
)

// TestFileReplayToFile: Run replays a file through the file reader into
// the file writer (both registered by runtime/builtin) and returns once
// every record is on disk.
func TestFileReplayToFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.log")
	var want []string
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	for i := 0; i < 1000; i++ {
		v := []byte("record " + strings.Repeat("x", i%7))
		if i%100 == 0 {
			v = []byte("multi\nline\\value")
		}
		want = append(want, string(v))
		if _, err := frame.WriteLine(bw, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.log")
	cfg := runtime.Config{
		Workers: 4,
		Logger:  quietLogger(),
		Inbound: []runtime.InboundConfig{{ID: "replay", Name: filereader.Name, Config: &filereader.Config{Path: in}}},
		Outbound: []runtime.OutboundConfig{{ID: "out", Name: filewriter.Name,
			Config: &filewriter.Config{Path: out, Framing: "lines", FlushInterval: 10 * time.Millisecond}}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Run returns by itself once the file is replayed and every record is
	// on disk.
	if err := runtime.Run(ctx, cfg, passthrough); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run did not return when the file was done")
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines written, want %d", len(lines), len(want))
	}
	got := map[string]int{}
	for _, l := range lines {
		got[string(frame.DecodeLine([]byte(l)))]++
	}
	for _, w := range want {
		if got[w] == 0 {
			t.Fatalf("value %q missing from the output", w)
		}
		got[w]--
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func passthrough(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
	return []runtime.Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}, nil
}
