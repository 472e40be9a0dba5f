package consumer

import (
	"time"

	"github.com/kgen-dev/kgen/runtime/kafka"
)

// PartitionAssignment names one partition for manual assignment.
type PartitionAssignment struct {
	Topic     string
	Partition int
	// Offset to start from when the group has no committed offset;
	// nil means AutoOffsetReset applies.
	Offset *int64
}

// Config configures the Kafka consumer. Defaults follow
// kafka-python where the seed relied on them, and are set explicitly
// because kafka-go's own defaults differ.
type Config struct {
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
	Security       kafka.Security
}
