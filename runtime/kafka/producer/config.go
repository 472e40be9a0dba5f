package producer

import (
	"time"

	"github.com/kgen-dev/kgen/runtime/kafka"
)

// Config configures the Kafka producer.
type Config struct {
	Brokers  []string
	Topic    string
	ClientID string
	// Acks is -1 (all), 0 or 1; default 1 like kafka-python (kafka-go's
	// Writer default is 0, which loses data).
	Acks int
	// DisableIdempotence turns the idempotent producer off. It is on when
	// Acks is -1 (all) unless disabled: the broker then drops a retried
	// batch it already has and refuses gaps, which allows MaxInFlight
	// requests per partition with order kept. With Acks 0 or 1 it is off.
	DisableIdempotence bool
	// MaxAttempts of one batch inside the producer (retries+1); 0 means
	// no count: a batch is retried until its records' delivery deadline
	// (AckTimeout), like the Java client's retries=MAX_INT.
	MaxAttempts int
	// BatchBytes is batch_size: the bytes of one partition's batch. A
	// batch closes when the next record would pass it; a record larger
	// than BatchBytes goes alone in its own batch. Default 16384
	// (kafka-python's and Java's batch_size).
	BatchBytes int64
	// MaxRequestSize is max_request_size: the largest request, and so the
	// largest record (a record over it fails with a permanent error).
	// Default 1 MiB.
	MaxRequestSize int64
	// BatchSize, when positive, also closes a batch at that many records;
	// 0 (the default) means batches close by bytes and linger only.
	BatchSize int
	// MaxInFlight is max_in_flight_requests_per_connection: produce
	// requests in flight per partition. More than 1 needs the idempotent
	// producer (the broker then refuses gaps); without it a partition has
	// one request in flight, which keeps order. Default 5.
	MaxInFlight int
	// Linger is how long a batch waits to fill (linger_ms); default 5ms,
	// never kafka-go's 1s.
	Linger         time.Duration
	Compression    string // none, gzip, snappy, lz4, zstd
	RequestTimeout time.Duration
	// AckTimeout bounds the wait for one record's acknowledgement (the
	// seed's future_timeout); an ack not seen by then is a failure.
	AckTimeout time.Duration
	// CloseTimeout bounds the final flush (the seed's close_timeout).
	CloseTimeout time.Duration
	// Partitioner: murmur2 (default, Java/kafka-python compatible), crc32,
	// fnv1a, round_robin.
	Partitioner string
	Security    kafka.Security
}
