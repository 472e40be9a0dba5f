package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Client names, as the settings' "name" field spells them.
const (
	KafkaConsumer = "kafka_consumer"
	FileReader    = "file_reader"
	KafkaProducer = "kafka_producer"
	FileWriter    = "file_writer"
	Stdout        = "stdout"
)

// OnFailure says what happens to a record whose retries are spent.
type OnFailure string

// The failure policies.
const (
	// DeadLetter writes the record to the dead-letter topic; the offset
	// passes it only once that write is acknowledged.
	DeadLetter OnFailure = "dead_letter"
	// Skip counts and logs the record and moves on.
	Skip OnFailure = "skip"
	// Stop halts the processor with an error; nothing after the record in
	// its partition is committed.
	Stop OnFailure = "stop"
)

// Config is everything the engine needs. Zero values mean the documented
// defaults (see Defaults).
type Config struct {
	// Workers is the processing concurrency, independent of the number of
	// partitions. Default 1.
	Workers  int
	Inbound  []InboundConfig
	Outbound []OutboundConfig
	Failure  FailurePolicy
	Flow     FlowConfig
	// MetricsAddr serves /metrics, /healthz and /readyz when not empty.
	MetricsAddr string
	Logger      *slog.Logger
}

// InboundConfig is one source of records.
type InboundConfig struct {
	ID string
	// Name is the registered client's name (see Register), e.g.
	// KafkaConsumer or FileReader.
	Name string
	// Config is the client's config: a pointer to its config type (e.g.
	// *KafkaConsumerConfig), or a json.RawMessage holding the settings'
	// "config" object, which Run decodes with the client's descriptor and
	// checks against its Schema at start. nil is the zero config. Run
	// applies the client's Defaults to it.
	Config any
	// MaxRetries is how many times the handler runs again on a record of
	// this source that it failed before the failure policy applies (the
	// seed's max_retries). Outputs that fail to send are sent again
	// without spending these; see Engine.
	MaxRetries int
}

// OutboundConfig is one sink.
type OutboundConfig struct {
	ID string
	// Name is the registered client's name (see Register), e.g.
	// KafkaProducer, FileWriter or Stdout.
	Name string
	// Config is the client's config, as InboundConfig.Config.
	Config any
}

// Security holds TLS and SASL settings (kafka-python's security_protocol,
// sasl_* and ssl_* options).
type Security struct {
	Protocol      string // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
	SASLMechanism string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username      string
	Password      string `kgen:"secret"`
	CAFile        string
	CertFile      string
	KeyFile       string
	// InsecureSkipVerify mirrors ssl_check_hostname=false.
	InsecureSkipVerify bool
}

// PartitionAssignment names one partition for manual assignment.
type PartitionAssignment struct {
	Topic     string
	Partition int
	// Offset to start from when the group has no committed offset;
	// nil means AutoOffsetReset applies.
	Offset *int64
}

// KafkaConsumerConfig configures the Kafka inbound client. Defaults follow
// kafka-python where the seed relied on them, and are set explicitly
// because kafka-go's own defaults differ.
type KafkaConsumerConfig struct {
	Brokers []string
	GroupID string
	// Topics for consumer-group mode.
	Topics []string
	// Assignments for manual assignment; when set, Topics is ignored and
	// no group membership is used. Offsets are still committed under
	// GroupID (when set) and resumed on restart.
	Assignments []PartitionAssignment
	ClientID    string
	// AutoOffsetReset is "earliest" or "latest" (kafka-python default).
	AutoOffsetReset   string
	SessionTimeout    time.Duration // default 10s (kafka-python)
	HeartbeatInterval time.Duration // default 3s
	RebalanceTimeout  time.Duration // default 30s (max_poll_interval_ms maps here)
	MinBytes          int           // default 1
	MaxBytes          int           // per-partition fetch size, default 1 MiB
	MaxWait           time.Duration // default 500ms (kafka-go's is 10s)
	// CommitInterval is how often finished offsets are committed;
	// default 5s (auto_commit_interval_ms).
	CommitInterval time.Duration
	// PartitionWatchInterval is how often the consumer group looks for
	// partitions added to its topics (and for input topics that appear);
	// a change starts a rebalance that assigns them. Default 5s; the
	// settings' metadata_max_age_ms sets it.
	PartitionWatchInterval time.Duration
	// RetryBackoff is the first delay before a failed fetch is tried
	// again, doubled per failure up to 5s (retry_backoff_ms); default 100ms.
	RetryBackoff time.Duration
	// SkipCRCCheck turns off the check of each record batch's CRC32C
	// (check_crcs=false).
	SkipCRCCheck bool
	// MaxBatchBytes bounds one record batch after decompression; a batch
	// that would exceed it is undecodable. Default: the engine's
	// Flow.MaxInFlightBytes (a larger batch could never be in flight).
	MaxBatchBytes int64
	// PollTimeout bounds one fetch round trip (the seed's poll_timeout).
	PollTimeout time.Duration
	// CloseTimeout bounds the drain and final commit on shutdown.
	CloseTimeout   time.Duration
	IsolationLevel string // read_uncommitted (default) or read_committed
	Balancers      []string
	Security       Security
}

// KafkaProducerConfig configures the Kafka outbound client.
type KafkaProducerConfig struct {
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
	Security    Security
}

// FailurePolicy decides what happens to records that keep failing.
type FailurePolicy struct {
	OnFailure OnFailure
	// DeadLetterTopic receives records that failed on every try, when
	// OnFailure is DeadLetter. It is written with the brokers of the
	// record's inbound client.
	DeadLetterTopic string
	// Backoff is the first retry delay, doubled each try up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// FlowConfig bounds memory and shapes ordering.
type FlowConfig struct {
	// MaxInFlightRecords and MaxInFlightBytes bound the records fetched
	// but not yet finished; fetching pauses at the bound.
	MaxInFlightRecords int
	MaxInFlightBytes   int64
	// UnorderedUnkeyed lets records without a key run in parallel; by
	// default they are ordered within their partition.
	UnorderedUnkeyed bool
	// DrainTimeout bounds how long revoked partitions may finish their
	// in-flight work before it is abandoned; keep it below the session
	// timeout.
	DrainTimeout time.Duration
	// StallTimeout reports a partition whose oldest in-flight record is
	// older than this.
	StallTimeout time.Duration
}

// Defaults returns c with every zero field set to its documented default.
func (c Config) Defaults() Config {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Failure.OnFailure == "" {
		c.Failure.OnFailure = Stop
	}
	if c.Failure.Backoff <= 0 {
		c.Failure.Backoff = 100 * time.Millisecond
	}
	if c.Failure.MaxBackoff <= 0 {
		c.Failure.MaxBackoff = 10 * time.Second
	}
	if c.Flow.MaxInFlightRecords <= 0 {
		c.Flow.MaxInFlightRecords = 20_000
	}
	if c.Flow.MaxInFlightBytes <= 0 {
		c.Flow.MaxInFlightBytes = 64 << 20
	}
	if c.Flow.DrainTimeout <= 0 {
		c.Flow.DrainTimeout = 5 * time.Second
	}
	if c.Flow.StallTimeout <= 0 {
		c.Flow.StallTimeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ErrNoInbound is returned by Validate when no inbound client is configured.
var ErrNoInbound = errors.New("no inbound client")

// Validate reports the first configuration problem the engine cannot run with.
func (c Config) Validate() error {
	if len(c.Inbound) == 0 {
		return ErrNoInbound
	}
	ids := map[string]bool{}
	for i, in := range c.Inbound {
		if in.ID == "" || ids[in.ID] {
			return fmt.Errorf("inbound %d: id %q is empty or used twice", i, in.ID)
		}
		ids[in.ID] = true
	}
	for i, out := range c.Outbound {
		if out.ID == "" || ids[out.ID] {
			return fmt.Errorf("outbound %d: id %q is empty or used twice", i, out.ID)
		}
		ids[out.ID] = true
	}
	if c.Failure.OnFailure == DeadLetter && c.Failure.DeadLetterTopic == "" {
		return errors.New("failure policy dead_letter needs a dead-letter topic")
	}
	return nil
}
