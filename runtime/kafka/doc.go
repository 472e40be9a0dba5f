// Package kafka holds what kgen's Kafka clients share: the connection
// security settings (Security), dialing with TLS and SASL (Dialer,
// Transport, RawDialer, DialRaw), the partition leader lookup that never
// creates a topic (LookupLeader), and Admin, which creates, describes and
// reads topics for `kgen topics`.
//
// The clients themselves are runtime/kafka/consumer ("kafka_consumer") and
// runtime/kafka/producer ("kafka_producer"); the record batch codec they
// share is in runtime/kafka/internal/wire.
package kafka
