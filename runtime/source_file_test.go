package runtime

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
		if _, err := writeLine(bw, v); err != nil {
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
	cfg := Config{
		Workers: 4,
		Logger:  quietLogger(),
		Inbound: []InboundConfig{{ID: "replay", Name: FileReader, Config: &FileReaderConfig{Path: in}}},
		Outbound: []OutboundConfig{{ID: "out", Name: FileWriter,
			Config: &FileWriterConfig{Path: out, Framing: "lines", FlushInterval: 10 * time.Millisecond}}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Run returns by itself once the file is replayed and every record is
	// on disk.
	if err := Run(ctx, cfg, passthrough); err != nil {
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
		got[string(DecodeLine([]byte(l)))]++
	}
	for _, w := range want {
		if got[w] == 0 {
			t.Fatalf("value %q missing from the output", w)
		}
		got[w]--
	}
}
