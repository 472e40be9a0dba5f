package producer

import (
	"log/slog"

	"github.com/segmentio/kafka-go"
)

// Fault-injection seams of the producer, for its conformance test
// (conformance_test.go, package producer_test, which can import
// runtime/clienttest).

// NewSinkVia is NewSink with the producer's requests going through
// wrap(transport).
func NewSinkVia(cfg Config, log *slog.Logger,
	wrap func(kafka.RoundTripper) kafka.RoundTripper) (*Sink, error) {
	return newSink(cfg, log, wrap)
}
