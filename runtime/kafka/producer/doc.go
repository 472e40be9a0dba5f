// Package producer is the "kafka_producer" outbound client: it batches
// messages per partition, encodes each batch once into the wire format and
// sends it to the partition's leader, idempotently when acks is all, and
// acknowledges each message once the broker has it.
//
// Client is its descriptor. runtime/builtin registers it; a program that
// calls runtime.Run itself imports runtime/builtin (or registers Client)
// and names the client Name in its runtime.OutboundConfig, with a *Config.
// Zero fields of Config take the defaults Client.Defaults documents, which
// Run applies. Client.Decode reads the settings' "config" object, mapping
// kafka-python's KafkaProducer options (Options lists them). NewSink
// builds a Sink directly, defaults applied.
package producer
