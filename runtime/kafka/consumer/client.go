package consumer

import (
	_ "embed"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

// Name is the client's name in the settings and the registry.
const Name = "kafka_consumer"

//go:embed schema.json
var schema []byte

// Client describes the Kafka consumer: register it with runtime.Register
// (runtime/builtin does).
var Client = runtime.Client{
	Name:      Name,
	Direction: runtime.Inbound,
	Summary:   "reads records from Kafka topics as a consumer group or from assigned partitions (kafka-python KafkaConsumer options)",
	Schema:    schema,
	NewConfig: func() any { return &Config{} },
	Defaults: func(cfg any) any {
		c := defaults(*cfg.(*Config))
		return &c
	},
	Decode: decode,
	NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
		c := withMaxBatch(*cfg.(*Config), env.Flow.MaxInFlightBytes)
		return buildSource(env.ID, c, env.Flow.DrainTimeout, env.Logger)
	},
	// Dead letters go to a producer on the consumer's cluster: acks from
	// every in-sync replica, the producer's defaults otherwise.
	DeadLetters: func(cfg any, topic string, env runtime.Env) (runtime.Sink, error) {
		c := cfg.(*Config)
		return producer.NewSink(producer.Config{
			Brokers: c.Brokers, Topic: topic, ClientID: c.ClientID, Acks: -1, Security: c.Security,
		}, env.Logger.With("client", env.ID+"-dead-letters"))
	},
}

// defaults fills the zero fields with kgen's documented
// defaults (kafka-python's where the seed relied on them). MaxBatchBytes
// stays zero: its default is the engine's Flow.MaxInFlightBytes, known
// when the client is built (withMaxBatch).
func defaults(c Config) Config {
	if c.AutoOffsetReset == "" {
		c.AutoOffsetReset = "latest"
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = 30 * time.Second
	}
	if c.MinBytes <= 0 {
		c.MinBytes = 1
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 20
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = 5 * time.Second
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 10 * time.Second
	}
	if c.PartitionWatchInterval <= 0 {
		c.PartitionWatchInterval = 5 * time.Second
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.IsolationLevel == "" {
		c.IsolationLevel = "read_uncommitted"
	}
	if len(c.Balancers) == 0 {
		c.Balancers = []string{"range", "roundrobin"}
	}
	if c.Security.Protocol == "" {
		c.Security.Protocol = "PLAINTEXT"
	}
	return c
}

// withMaxBatch returns c with MaxBatchBytes set to flowBytes when zero: a
// larger batch could never be in flight.
func withMaxBatch(c Config, flowBytes int64) Config {
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = flowBytes
	}
	return c
}
