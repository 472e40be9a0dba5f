package stdout_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/kgen-dev/kgen/runtime/clienttest"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
	"github.com/kgen-dev/kgen/runtime/stdout"
)

// TestStdoutConformance runs the sink conformance suite on the stdout
// client writing to an in-memory stream. Durable for stdout is "written to
// the writer". A writer error is final for this client (permanent), so
// only a permanent failure can be injected.
func TestStdoutConformance(t *testing.T) {
	clienttest.TestSink(t, func(t *testing.T, o clienttest.SinkOptions) clienttest.SinkSetup {
		w := &faultWriter{discard: o.Discard}
		s, err := stdout.NewSink(stdout.Config{}, w)
		if err != nil {
			t.Fatal(err)
		}
		return clienttest.SinkSetup{
			Sink: s,
			ReadBack: func(testing.TB) [][][]byte {
				w.mu.Lock()
				defer w.mu.Unlock()
				var vals [][]byte
				for line := range bytes.Lines(w.buf.Bytes()) {
					if line[len(line)-1] == '\n' { // a partial last line is not written yet
						vals = append(vals, frame.DecodeLine(bytes.Clone(line[:len(line)-1])))
					}
				}
				return [][][]byte{vals}
			},
			FailPermanent: func() func() {
				w.mu.Lock()
				w.err = errors.New("broken pipe (injected)")
				w.mu.Unlock()
				return nil // the stdout client stays failed
			},
		}
	})
}

// faultWriter is an in-memory stream that fails once err is set.
type faultWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	err     error
	discard bool // keep nothing
}

func (w *faultWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.discard {
		return len(p), nil
	}
	return w.buf.Write(p)
}
