package producer

import (
	_ "embed"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// Name is the client's name in the settings and the registry.
const Name = "kafka_producer"

//go:embed schema.json
var schema []byte

// Client describes the Kafka producer: register it with runtime.Register
// (runtime/builtin does).
var Client = runtime.Client{
	Name:      Name,
	Direction: runtime.Outbound,
	Summary:   "writes outputs to a Kafka topic (kafka-python KafkaProducer options)",
	Schema:    schema,
	NewConfig: func() any { return &Config{} },
	Defaults: func(cfg any) any {
		c := defaults(*cfg.(*Config))
		return &c
	},
	Decode: decode,
	NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
		return buildSink(*cfg.(*Config), env.Logger.With("client", env.ID), nil)
	},
}

// Producer defaults, applied by defaults to the zero fields of
// a Config (kafka-python's where the seed relied on them).
const (
	// defaultProducerBatchBytes is batch_size, the bytes of a partition's
	// batch: kafka-python's and Java's documented 16384.
	defaultProducerBatchBytes = 16384
	// defaultProducerMaxRequestSize is kafka-python's max_request_size; it
	// also caps a single record.
	defaultProducerMaxRequestSize = 1 << 20
	// defaultProducerMaxInFlight is the requests in flight per partition
	// with the idempotent producer (kafka-python's and Java's 5, the most
	// the broker's duplicate detection covers).
	defaultProducerMaxInFlight = 5
	// defaultProducerLinger is linger_ms as documented in the config.
	defaultProducerLinger = 5 * time.Millisecond
	// defaultProducerRequestTimeout is kafka-python's request_timeout_ms.
	defaultProducerRequestTimeout = 30 * time.Second
	// defaultProducerAckTimeout is a record's delivery deadline after it
	// was handed to the sink (future_timeout), when the settings give
	// none: the Java client's delivery.timeout.ms, which leaves room for
	// linger, several request timeouts and backoffs.
	defaultProducerAckTimeout = 120 * time.Second
	// defaultProducerCloseTimeout bounds the final flush (close_timeout).
	defaultProducerCloseTimeout = 5 * time.Second
)

// defaults returns c with every zero field set to its
// default, and the fields that cannot take their value as given brought
// into range.
func defaults(c Config) Config {
	if c.MaxAttempts < 0 {
		c.MaxAttempts = 0 // until the delivery deadline
	}
	if c.BatchSize < 0 {
		c.BatchSize = 0
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = defaultProducerBatchBytes
	}
	if c.MaxRequestSize <= 0 {
		c.MaxRequestSize = defaultProducerMaxRequestSize
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = defaultProducerMaxInFlight
	}
	// A batch never exceeds a request.
	c.BatchBytes = min(c.BatchBytes, c.MaxRequestSize)
	if c.Linger <= 0 {
		c.Linger = defaultProducerLinger
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = defaultProducerRequestTimeout
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = defaultProducerAckTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = defaultProducerCloseTimeout
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.Partitioner == "" {
		c.Partitioner = "murmur2"
	}
	if c.Security.Protocol == "" {
		c.Security.Protocol = "PLAINTEXT"
	}
	return c
}
