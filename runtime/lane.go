package runtime

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Lane states.
const (
	laneOpen int32 = iota
	laneDraining
	laneDead
)

// lane tracks one partition: which submitted records are finished, and the
// contiguous watermark below which every record is. Records are tracked by
// their real offsets, so gaps (compaction, transaction markers) never stall
// the watermark.
type lane struct {
	e          *Engine
	source     string
	topic      string
	partition  int32
	maxRetries int
	// state is read for every record a worker runs; the padding keeps it
	// off the cache line of mu, which every acknowledgement writes.
	state atomic.Int32
	_     [64]byte

	// keys and unkeyed are guarded by e.mu.
	keys    map[uint64]*keyQueue
	unkeyed *keyQueue

	mu       sync.Mutex
	ring     []*task // submitted, in offset order, not yet below the watermark
	head     int
	next     int64 // watermark: next offset to commit
	has      bool  // a record has finished since the lane opened
	inflight int   // submitted and neither finished nor abandoned
	idle     chan struct{}
	// pos is the source's fetch position (see Advance): every record below
	// it was submitted or deliberately passed over; hasPos once set.
	pos    int64
	hasPos bool

	// Observability, written by the source and the stall watchdog.
	hwm       atomic.Int64 // partition high watermark, -1 unknown
	committed atomic.Int64 // last committed offset, -1 none
	stalled   atomic.Bool
	problem   atomic.Pointer[fetchProblem] // why fetching fails, nil when it works
}

// fetchProblem is why a partition's fetcher is failing, for /readyz and
// the metrics.
type fetchProblem struct {
	reason   string // broker unreachable, not leader, undecodable batch, ...
	err      string
	offset   int64 // the fetch position
	since    time.Time
	failures int  // consecutive failed fetches
	stuck    bool // the same bytes fail every time (undecodable batch)
}

// fetchReporter is what a Lane of the engine offers sources beyond Lane:
// fetch positions and fetch problems.
type fetchReporter interface {
	Advance(next int64)
	FetchFailed(p fetchProblem)
	FetchOK()
	Undecodable(ctx context.Context, de *DecodeError, attempt int) bool
}

// FetchFailed records why fetching fails (the source calls it per failure).
func (l *lane) FetchFailed(p fetchProblem) { l.problem.Store(&p) }

// FetchOK clears the fetch problem after a successful fetch.
func (l *lane) FetchOK() {
	if l.problem.Load() != nil {
		l.problem.Store(nil)
	}
}

// Advance tells the lane that every record below next was submitted or
// passed over on purpose (transaction markers, aborted transactions,
// compacted gaps, a batch a failure policy stepped over, or nothing at all
// when a partition starts). Once the submitted ones are finished, the
// watermark moves to next: an idle partition commits its start position,
// and a transactional input's commit passes its trailing marker.
func (l *lane) Advance(next int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hasPos && next <= l.pos {
		return
	}
	l.pos, l.hasPos = next, true
	l.catchUp()
}

// catchUp moves the watermark to the fetch position once nothing before
// it is unfinished; l.mu is held.
func (l *lane) catchUp() {
	if l.hasPos && l.head == len(l.ring) && (!l.has || l.pos > l.next) {
		l.next, l.has = l.pos, true
	}
}

// Dead-letter headers of an undecodable batch, beside HeaderTopic,
// HeaderPartition, HeaderOffset (its first offset), HeaderError and
// HeaderSource: the value is the raw batch.
const (
	// HeaderNextOffset is the offset after the batch (where consuming went on).
	HeaderNextOffset = "kgen.next_offset"
	// HeaderUndecodable marks a dead letter holding a raw record batch.
	HeaderUndecodable = "kgen.undecodable_batch"
)

// Undecodable applies the failure policy to a batch the fetcher cannot
// decode, once attempt (the fetches that failed on it) exceeds the
// source's max_retries: the same bytes failing again rules out a transient
// fault. It returns whether the fetcher may step over the batch to de.Next:
//   - stop: the processor stops; nothing at or after the batch is committed;
//   - skip: the batch's offsets and the error are logged, and it is passed;
//   - dead_letter: the raw batch is written as one dead-letter record
//     (headers name topic, partition, first and next offset, error); it is
//     passed once that write is acknowledged; a failed write leaves the
//     partition stuck and is tried again.
func (l *lane) Undecodable(ctx context.Context, de *DecodeError, attempt int) bool {
	if attempt <= l.maxRetries {
		return false
	}
	log := l.e.log.With("source", l.source, "topic", l.topic, "partition", l.partition,
		"first_offset", de.Offset, "next_offset", de.Next, "err", de.Err)
	switch l.e.cfg.Failure.OnFailure {
	case Skip:
		log.Warn("undecodable record batch skipped")
		return true
	case DeadLetter:
		sink := l.e.deadLetters[l.source]
		if sink == nil {
			l.e.stop(fmt.Errorf("no dead-letter client for source %q", l.source))
			return false
		}
		hdrs := []Header{
			{Key: HeaderTopic, Value: []byte(l.topic)},
			{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(l.partition), 10)},
			{Key: HeaderOffset, Value: strconv.AppendInt(nil, de.Offset, 10)},
			{Key: HeaderNextOffset, Value: strconv.AppendInt(nil, de.Next, 10)},
			{Key: HeaderError, Value: []byte(de.Err.Error())},
			{Key: HeaderSource, Value: []byte(l.source)},
			{Key: HeaderUndecodable, Value: []byte("true")},
		}
		done := make(chan error, 1)
		msg := []Message{{Value: de.Batch, Headers: hdrs, Topic: l.e.cfg.Failure.DeadLetterTopic,
			Ack: ackChan(done)}}
		if err := sink.Write(ctx, msg); err != nil {
			log.Warn("dead-letter write of an undecodable batch failed", "write_err", err)
			return false
		}
		select {
		case err := <-done:
			if err != nil {
				log.Warn("dead-letter write of an undecodable batch failed", "write_err", err)
				return false
			}
		case <-ctx.Done():
			return false
		}
		log.Warn("undecodable record batch dead-lettered")
		return true
	default:
		log.Error("undecodable record batch; stopping")
		l.e.stop(de)
		return false
	}
}

// ackChan is an Acker that sends the outcome on a channel of capacity 1.
type ackChan chan error

func (a ackChan) Done(err error) { a <- err }

// SetHighWaterMark implements Lane.
func (l *lane) SetHighWaterMark(off int64) { l.hwm.Store(off) }

// SetCommitted implements Lane.
func (l *lane) SetCommitted(off int64) { l.committed.Store(off) }

func (l *lane) dead() bool { return l.state.Load() == laneDead }

// Submit implements Lane.
func (l *lane) Submit(ctx context.Context, recs []Record) error {
	const chunk = slabSize
	for len(recs) > 0 {
		if l.state.Load() != laneOpen {
			return ErrClosed
		}
		n := min(len(recs), chunk)
		part := recs[:n]
		recs = recs[n:]
		// Fill the slab's tasks in one pass, every field written once
		// (a reused slab holds the previous records' tasks).
		sl := slabPool.Get().(*slab)
		tasks := sl.tasks[:n]
		sl.live.Store(int32(n))
		now := monoSince()
		var size int64
		for i := range part {
			t := &tasks[i]
			t.rec = part[i]
			t.rec.Source = l.source
			t.size = recordSize(&t.rec)
			size += t.size
			t.lane, t.slab, t.off, t.since = l, sl, t.rec.Offset, now
			t.outErr, t.pending = atomic.Pointer[error]{}, atomic.Int32{}
			t.done, t.resend, t.attempt, t.transient = false, false, 0, 0
			t.q, t.sent = nil, nil
		}
		if err := l.e.budget.acquire(ctx, int64(n), size); err != nil {
			sl.live.Store(0)
			slabPool.Put(sl)
			return err
		}
		l.mu.Lock()
		for i := range tasks {
			l.ring = append(l.ring, &tasks[i])
		}
		l.inflight += n
		l.mu.Unlock()
		l.e.consumed.Add(int64(n))
		l.e.enqueue(l, tasks)
	}
	return nil
}

func recordSize(r *Record) int64 {
	n := int64(len(r.Key) + len(r.Value) + 64)
	for _, h := range r.Headers {
		n += int64(len(h.Key) + len(h.Value))
	}
	return n
}

// Committable implements Lane.
func (l *lane) Committable() (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next, l.has
}

// Drain implements Lane.
func (l *lane) Drain(ctx context.Context) (int64, bool) {
	l.state.CompareAndSwap(laneOpen, laneDraining)
	l.mu.Lock()
	if l.inflight > 0 && l.idle == nil {
		l.idle = make(chan struct{})
	}
	idle := l.idle
	busy := l.inflight > 0
	l.mu.Unlock()
	if busy {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Under l.mu, so that each record unfinished now is counted abandoned
	// once: here, or by abandon before, never also by finish later.
	l.state.Store(laneDead)
	l.e.abandoned.Add(int64(l.inflight))
	// Finished records behind an unfinished one (abandoned now or before)
	// stay above the watermark: not committed, so processed again.
	var behind int64
	for _, t := range l.ring[l.head:] {
		if t.done {
			behind++
		}
	}
	l.e.uncommitted.Add(behind)
	switch {
	case l.inflight > 0:
		l.e.log.Warn("drain budget spent; abandoning in-flight records",
			"topic", l.topic, "partition", l.partition, "in_flight", l.inflight,
			"finished_uncommitted", behind, "next_offset", l.next)
	case behind > 0:
		l.e.log.Warn("finished records behind an abandoned one are not committed",
			"topic", l.topic, "partition", l.partition, "finished_uncommitted", behind, "next_offset", l.next)
	}
	return l.next, l.has
}

// finish marks t done and advances the watermark.
func (l *lane) finish(t *task) {
	l.finishAll([]*task{t}, false)
}

// finishAll marks ts (all of this lane) done and advances the watermark:
// one lock and one budget release for the lot. processed counts them as
// processed (every output acknowledged), unless the lane is dead: then
// Drain counted them abandoned.
func (l *lane) finishAll(ts []*task, processed bool) {
	var size int64
	for _, t := range ts {
		size += t.size // t may be reused once the watermark passes it
	}
	// Released first: once Drain sees the lane idle, the budget holds
	// nothing of it any more.
	l.e.budget.release(int64(len(ts)), size)
	l.mu.Lock()
	if processed && !l.dead() {
		l.e.processed.Add(int64(len(ts)))
	}
	for _, t := range ts {
		t.done = true
	}
	l.inflight -= len(ts)
	for l.head < len(l.ring) && l.ring[l.head].done {
		p := l.ring[l.head]
		l.next = p.off + 1
		l.has = true
		l.ring[l.head] = nil
		l.head++
		p.slab.release()
	}
	l.catchUp()
	if l.head > 1024 && l.head*2 > len(l.ring) {
		n := copy(l.ring, l.ring[l.head:])
		clear(l.ring[n:])
		l.ring = l.ring[:n]
		l.head = 0
	}
	l.signalIdle()
	l.mu.Unlock()
}

// slab holds the tasks of one Submit chunk. Once the watermark has passed
// every task in it, nothing refers to them any more (the ring, key queues,
// retry lists and worker rounds drop their pointers first, sinks hold only
// the record's byte slices), and the slab is reused: the engine's
// per-record memory is not garbage. Slabs with abandoned tasks are simply
// left to the garbage collector.
type slab struct {
	tasks [slabSize]task
	live  atomic.Int32
}

const slabSize = 256

var slabPool = sync.Pool{New: func() any { return new(slab) }}

func (s *slab) release() {
	if s.live.Add(-1) == 0 {
		slabPool.Put(s)
	}
}

// abandon gives t up without finishing it: the watermark never passes it.
func (l *lane) abandon(t *task) {
	l.e.budget.release(1, t.size)
	l.mu.Lock()
	if !l.dead() {
		l.e.abandoned.Add(1)
	}
	l.inflight--
	l.signalIdle()
	l.mu.Unlock()
}

// signalIdle wakes Drain once nothing is in flight; l.mu is held.
func (l *lane) signalIdle() {
	if l.inflight == 0 && l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
}

// oldest returns when the oldest unfinished record was submitted.
func (l *lane) oldest() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := l.head; i < len(l.ring); i++ {
		if !l.ring[i].done {
			return monoBase.Add(l.ring[i].since), true
		}
	}
	return time.Time{}, false
}
