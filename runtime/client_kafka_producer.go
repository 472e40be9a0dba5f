package runtime

import (
	_ "embed"
	"time"
)

// The "kafka_producer" outbound client: its descriptor, defaults and
// settings schema.

//go:embed client_kafka_producer.schema.json
var kafkaProducerSchema []byte

// kafkaProducerClient describes the Kafka producer.
var kafkaProducerClient = Client{
	Name:      KafkaProducer,
	Direction: Outbound,
	Summary:   "writes outputs to a Kafka topic (kafka-python KafkaProducer options)",
	Schema:    kafkaProducerSchema,
	NewConfig: func() any { return &KafkaProducerConfig{} },
	Defaults: func(cfg any) any {
		c := kafkaProducerDefaults(*cfg.(*KafkaProducerConfig))
		return &c
	},
	NewSink: func(cfg any, env Env) (Sink, error) {
		return buildKafkaSink(*cfg.(*KafkaProducerConfig), env.Logger.With("client", env.ID), nil)
	},
}

// Producer defaults, applied by kafkaProducerDefaults to the zero fields of
// a KafkaProducerConfig (kafka-python's where the seed relied on them).
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

// kafkaProducerDefaults returns c with every zero field set to its
// default, and the fields that cannot take their value as given brought
// into range.
func kafkaProducerDefaults(c KafkaProducerConfig) KafkaProducerConfig {
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
	return c
}
