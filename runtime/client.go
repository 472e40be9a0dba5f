package runtime

import (
	"context"
	"errors"
	"time"
)

// Acker learns the outcome of one written message: nil once the outbound
// client made it durable (producer ack, file write fsynced), or the error.
// A Sink calls Done exactly once per message it accepted; one that learns
// of many messages' durability at once acknowledges them through an Acks
// (the fast path).
type Acker interface {
	Done(err error)
}

// Message is one output handed to a Sink.
type Message struct {
	Key     []byte
	Value   []byte
	Headers []Header
	// Timestamp is the record's timestamp; zero means the time of
	// writing. The Kafka producer writes it as the record's timestamp.
	Timestamp time.Time
	// Topic overrides the sink's configured topic (dead letters use it).
	Topic string
	// Worker is the worker that produced the message (the file writer
	// keeps one file per worker).
	Worker int
	Ack    Acker
}

// Sink is an outbound client. Write must not block for long: it queues the
// messages and reports each outcome through its Acker. Write returns an
// error only when it accepted none of the messages (e.g. closed); then no
// Acker is called. Write must not keep msgs (the slice) after it returns;
// the byte slices inside may be kept until the message is acknowledged.
//
// Order: messages bound for one partition (one file) land in the order
// they were written. When one fails, every message queued behind it for
// the same partition fails too and is not written afterwards: the engine
// sends them again in order. Those behind fail with a transient error
// (they did nothing wrong) unless they are at fault themselves: a
// permanent error (ErrPermanent) sends a record to the failure policy.
//
// Durability: Done(nil) means the message is where a reader downstream
// finds it after a crash of this process (broker acknowledgement, fsync,
// written to the stream), never merely buffered.
//
// Memory: a Sink keeps nothing of a message (its bytes, its Acker, the
// batch holding it) once it called the message's Acker. Until then it may
// keep it, and it need not bound how many messages it holds: its caller
// does. The engine's in-flight bound (FlowConfig.MaxInFlightRecords and
// MaxInFlightBytes) caps the records not yet finished, and a record
// finishes only once its outputs are acknowledged, so a slow durable path
// slows intake rather than growing memory. A Sink may also block in Write
// while its own fixed-size buffers are full (backpressure).
//
// The conformance suite in runtime/clienttest checks this contract; every
// client runs it.
type Sink interface {
	Write(ctx context.Context, msgs []Message) error
	// Close flushes what was accepted and acknowledges or fails every
	// pending message: when it returns nil, every message accepted before
	// Close was called has had its outcome (a Write racing with Close
	// returns ErrClosed, or accepts its messages and they get their
	// outcome, if only ErrClosed). It releases the client's resources (no goroutine of the
	// client outlives it), within ctx. Later Writes return an error
	// wrapping ErrClosed and call no Acker; later Closes return the first
	// one's result.
	Close(ctx context.Context) error
}

// Source is an inbound client. Run opens the partitions it is given or
// assigned through intake, submits their records in offset order, commits
// what intake reports as finished, and returns when ctx is done (nil) or
// when it fails for good.
type Source interface {
	Run(ctx context.Context, intake Intake) error
}

// Intake is the engine as a Source sees it.
type Intake interface {
	// Open starts a partition's work; the Source calls Lane.Close when it
	// loses or releases the partition.
	Open(source, topic string, partition int32) Lane
}

// Lane is one partition's path into the engine.
type Lane interface {
	// Submit hands records (in offset order) to the workers. It blocks
	// while the in-flight budget is spent and returns ctx.Err() if ctx
	// ends first; records not yet submitted then were not accepted.
	Submit(ctx context.Context, recs []Record) error
	// Committable returns the next offset to commit: every record below it
	// is finished. ok is false when nothing new finished.
	Committable() (next int64, ok bool)
	// Drain stops the lane taking records, waits until its in-flight work
	// is finished or ctx ends, and returns the final committable offset.
	// Completions after Drain returns are ignored.
	Drain(ctx context.Context) (next int64, ok bool)
	// SetHighWaterMark and SetCommitted report the partition's end offset
	// and last committed offset, for lag metrics.
	SetHighWaterMark(offset int64)
	SetCommitted(offset int64)
}

// ErrClosed is returned by a Sink or Lane used after Close or Drain.
var ErrClosed = errors.New("closed")

// ErrSourceDone is returned by a Source that has delivered everything it
// ever will (a replayed file reached its end and every record finished).
// Run shuts down cleanly once every source is done.
var ErrSourceDone = errors.New("source done")
