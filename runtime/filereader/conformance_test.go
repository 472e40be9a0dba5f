package filereader_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/kgen-dev/kgen/runtime/clienttest"
	"github.com/kgen-dev/kgen/runtime/filereader"
)

// TestFileSourceConformance runs the source conformance suite on the file
// reader: one partition, replayed from a file in the "lines" framing; it
// commits nothing, so the commit subtest skips.
func TestFileSourceConformance(t *testing.T) {
	clienttest.TestSource(t, 1, func(t *testing.T, input [][][]byte) clienttest.SourceSetup {
		path := filepath.Join(t.TempDir(), "in.log")
		var b bytes.Buffer
		for _, v := range input[0] {
			b.Write(v)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := filereader.NewSource("in", filereader.Config{Path: path}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return clienttest.SourceSetup{Source: s}
	})
}
