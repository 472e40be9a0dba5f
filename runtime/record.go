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

	w *workerScratch // lent by the running worker; nil outside the engine
}

// workerScratch is memory a worker lends the handler it runs, reused from
// one record to the next: the engine has read a handler's outputs before
// it calls the handler again on the same worker.
type workerScratch struct {
	outs  []Output
	local any
}

// Out returns outs as the handler's result without allocating: the slice
// belongs to the worker running the handler and is reused for its next
// record, so return it and do not keep it; call Out once per record, with
// every output. Returning a []Output literal works as well, at the cost of
// an allocation per record. The engine copies the outputs themselves; the
// bytes they point to must stay unchanged until the record is finished.
func (r *Record) Out(outs ...Output) []Output {
	if r.w == nil {
		return append([]Output(nil), outs...)
	}
	r.w.outs = append(r.w.outs[:0], outs...)
	return r.w.outs
}

// Outputs returns n zero outputs to fill in and return, on the same terms
// as Out.
func (r *Record) Outputs(n int) []Output {
	if r.w == nil {
		return make([]Output, n)
	}
	if cap(r.w.outs) < n {
		r.w.outs = make([]Output, n)
	}
	r.w.outs = r.w.outs[:n]
	clear(r.w.outs)
	return r.w.outs
}

// WorkerLocal returns a slot that the worker running the handler keeps
// from record to record (nil at first): a handler may cache buffers there.
// Only that worker's handler calls use it, one at a time. Outside the
// engine it returns a fresh slot. A buffer reused from record to record
// must not hold the bytes of an output: those are sent (and, after an
// outbound failure, sent again) after the handler returns.
func (r *Record) WorkerLocal() *any {
	if r.w == nil {
		return new(any)
	}
	return &r.w.local
}

// Output is one record the handler wants written. With To empty it goes to
// every outbound client (fan-out); otherwise only to the named clients.
// Key, Value and Headers must stay unchanged until the record is finished
// (every output acknowledged): an output that failed to send is sent again
// as it was returned.
type Output struct {
	Key     []byte
	Value   []byte
	Headers []Header
	// Timestamp is the record's timestamp. Zero means the inbound
	// record's (Record.Time: event time carries through), or the time of
	// writing when that is zero too.
	Timestamp time.Time
	To        []string
}

// Handler is the business logic. It runs concurrently on many workers, in
// order for records of the same key (within a partition): the next record
// of a key runs once every output of the previous one is acknowledged.
// Returning no outputs finishes the record; an error (or a panic) makes the
// runtime retry it with backoff and, once the retries are spent, apply the
// failure policy. An error wrapped with Permanent skips the retries. The
// handler does not run again because an output failed to send: the engine
// sends the outputs it returned again (see Engine).
type Handler func(ctx context.Context, rec *Record) ([]Output, error)
