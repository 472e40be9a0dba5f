package runtime

import (
	"net/http"
	"time"
)

// Timeouts of the metrics and health server. It faces whatever can reach
// metrics.address: a client that sends its request slowly, reads the
// answer slowly or keeps an idle connection open must not hold a
// connection (and a goroutine) forever. Prometheus scrapes in well under
// these bounds.
const (
	opsReadHeaderTimeout = 5 * time.Second
	opsReadTimeout       = 10 * time.Second
	opsWriteTimeout      = 30 * time.Second
	opsIdleTimeout       = 60 * time.Second
)

// opsServer returns the HTTP server of /metrics, /healthz and /readyz.
func opsServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opsReadHeaderTimeout,
		ReadTimeout:       opsReadTimeout,
		WriteTimeout:      opsWriteTimeout,
		IdleTimeout:       opsIdleTimeout,
		MaxHeaderBytes:    16 << 10,
	}
}
