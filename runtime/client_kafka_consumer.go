package runtime

import (
	_ "embed"
	"time"
)

// The "kafka_consumer" inbound client: its descriptor, defaults and
// settings schema.

//go:embed client_kafka_consumer.schema.json
var kafkaConsumerSchema []byte

// kafkaConsumerClient describes the Kafka consumer.
var kafkaConsumerClient = Client{
	Name:      KafkaConsumer,
	Direction: Inbound,
	Summary:   "reads records from Kafka topics as a consumer group or from assigned partitions (kafka-python KafkaConsumer options)",
	Schema:    kafkaConsumerSchema,
	NewConfig: func() any { return &KafkaConsumerConfig{} },
	Defaults: func(cfg any) any {
		c := kafkaConsumerDefaults(*cfg.(*KafkaConsumerConfig))
		return &c
	},
	NewSource: func(cfg any, env Env) (Source, error) {
		c := withMaxBatch(*cfg.(*KafkaConsumerConfig), env.Flow.MaxInFlightBytes)
		return buildKafkaSource(env.ID, c, env.Flow.DrainTimeout, env.Logger)
	},
	// Dead letters go to a producer on the consumer's cluster: acks from
	// every in-sync replica, the producer's defaults otherwise.
	DeadLetters: func(cfg any, topic string, env Env) (Sink, error) {
		c := cfg.(*KafkaConsumerConfig)
		p := kafkaProducerDefaults(KafkaProducerConfig{
			Brokers: c.Brokers, Topic: topic, ClientID: c.ClientID, Acks: -1, Security: c.Security,
		})
		return buildKafkaSink(p, env.Logger.With("client", env.ID+"-dead-letters"), nil)
	},
}

// kafkaConsumerDefaults fills the zero fields with kgen's documented
// defaults (kafka-python's where the seed relied on them). MaxBatchBytes
// stays zero: its default is the engine's Flow.MaxInFlightBytes, known
// when the client is built (withMaxBatch).
func kafkaConsumerDefaults(c KafkaConsumerConfig) KafkaConsumerConfig {
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
	return c
}

// withMaxBatch returns c with MaxBatchBytes set to flowBytes when zero: a
// larger batch could never be in flight.
func withMaxBatch(c KafkaConsumerConfig, flowBytes int64) KafkaConsumerConfig {
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = flowBytes
	}
	return c
}
