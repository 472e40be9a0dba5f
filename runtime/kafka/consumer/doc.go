// Package consumer is the "kafka_consumer" inbound client: it reads
// records from Kafka topics as a member of a consumer group (kafka-go's
// ConsumerGroup), or from assigned partitions without membership, fetching
// each partition on a connection of its own and committing only offsets the
// engine reports finished.
//
// Client is its descriptor. runtime/builtin registers it; a program that
// calls runtime.Run itself imports runtime/builtin (or registers Client)
// and names the client Name in its runtime.InboundConfig, with a *Config.
// Zero fields of Config take the defaults Client.Defaults documents, which
// Run applies. Client.Decode reads the settings' "config" object, mapping
// kafka-python's KafkaConsumer options (Options lists them).
package consumer
