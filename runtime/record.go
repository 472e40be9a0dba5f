package runtime

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
)

// Header is one record header, as Kafka carries it ({Key string; Value
// []byte}). It is kafka-go's own type, so headers pass between the client
// and the handler without copying.
type Header = kafka.Header

// Record is one inbound record handed to a Handler. The runtime owns it and
// reuses its memory once the record is finished: a Handler must not keep
// the *Record after it returns. Key, Value and Headers may be returned in
// outputs as they are.
type Record struct {
	// Source is the id of the inbound client the record came from.
	Source    string
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Time      time.Time
	// Attempt counts the tries of this record, starting at 1.
	Attempt int
	// Worker is the index (0-based) of the worker running the handler.
	Worker int
}

// Output is one record the handler wants written. With To empty it goes to
// every outbound client (fan-out); otherwise only to the named clients.
type Output struct {
	Key     []byte
	Value   []byte
	Headers []Header
	To      []string
}

// Handler is the business logic. It runs concurrently on many workers, in
// order for records of the same key (within a partition). Returning no
// outputs finishes the record; an error (or a panic) makes the runtime retry
// it with backoff and, once the retries are spent, apply the failure policy.
type Handler func(ctx context.Context, rec *Record) ([]Output, error)
