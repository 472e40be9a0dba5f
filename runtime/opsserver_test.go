package runtime

import (
	"testing"
	"time"
)

// TestOpsServerTimeouts: the metrics server bounds every phase of a
// connection, not only the request header.
func TestOpsServerTimeouts(t *testing.T) {
	srv := opsServer(nil)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s = %v, want a bound", name, d)
		}
	}
}
