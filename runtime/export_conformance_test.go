package runtime

import (
	"log/slog"

	"github.com/segmentio/kafka-go"
)

// Fault-injection seams of the clients, for their conformance tests
// (conformance_*_test.go, package runtime_test, which can import
// runtime/clienttest).

// NewKafkaSinkVia is NewKafkaSink with the producer's requests going
// through wrap(transport).
func NewKafkaSinkVia(cfg KafkaProducerConfig, log *slog.Logger,
	wrap func(kafka.RoundTripper) kafka.RoundTripper) (*KafkaSink, error) {
	return newKafkaSink(cfg, log, wrap)
}
