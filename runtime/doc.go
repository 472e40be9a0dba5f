// Package runtime is the library every kgen-generated processor links
// against, usable by hand without kgen: it reads records from inbound
// clients, runs a Handler over them on a bounded pool of workers, writes
// the outputs to outbound clients, and commits what is finished. Run
// builds everything from a Config; Engine is the core it drives, with
// metrics, health (/metrics, /healthz, /readyz) and graceful shutdown
// around it.
//
// # The engine's promise
//
// At least once: a record is finished only when the handler returned and
// every output it made was acknowledged by its sink as durable, or when
// the failure policy disposed of it (dead letter acknowledged, or
// skipped); a source commits an offset only once every record below it
// is finished, so after a crash nothing is lost, and what was in flight is
// processed again. Order per key: records of one partition with the same
// key run one at a time in offset order, and their outputs reach each
// sink in that order, also when a send fails and is retried; other keys
// run in parallel. Memory is bounded: FlowConfig caps the records and
// bytes in flight, and a slow sink slows intake. Handler errors are
// retried with backoff up to InboundConfig.MaxRetries, then FailurePolicy
// applies (stop, skip or dead letter). See Engine for the details.
//
// # Clients
//
// An inbound client is a Source: it opens a Lane per partition through
// its Intake, submits records in offset order, and commits what
// Lane.Committable reports. An outbound client is a Sink: Write queues
// messages without blocking for long, and each message's Acker learns its
// outcome exactly once, nil only once the message is durable; messages
// for one partition land in order, and a failure fails those queued
// behind it (see Sink for the whole contract; a sink that learns of many
// messages at once acknowledges them through Acks, the fast path). A
// Client descriptor makes a client known by its settings name: Register
// it, and Run builds it from its config with Defaults applied;
// runtime/clienttest is the conformance suite every client runs.
//
// The built-in clients live in packages of their own: runtime/filewriter
// ("file_writer"), runtime/filereader ("file_reader"), runtime/stdout
// ("stdout"); the Kafka consumer and producer ("kafka_consumer",
// "kafka_producer") are still in this package, on their way to
// runtime/kafka/consumer and runtime/kafka/producer. runtime/builtin
// registers them all (importing kgen's settings package does too).
package runtime
