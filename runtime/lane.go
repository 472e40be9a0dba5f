package runtime

import (
	"context"
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

	// Observability, written by the source and the stall watchdog.
	hwm       atomic.Int64 // partition high watermark, -1 unknown
	committed atomic.Int64 // last committed offset, -1 none
	stalled   atomic.Bool
}

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
	l.state.Store(laneDead)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight > 0 {
		l.e.log.Warn("drain budget spent; abandoning in-flight records",
			"topic", l.topic, "partition", l.partition, "in_flight", l.inflight)
	}
	return l.next, l.has
}

// finish marks t done and advances the watermark.
func (l *lane) finish(t *task) {
	l.finishAll([]*task{t})
}

// finishAll marks ts (all of this lane) done and advances the watermark:
// one lock and one budget release for the lot.
func (l *lane) finishAll(ts []*task) {
	var size int64
	for _, t := range ts {
		size += t.size // t may be reused once the watermark passes it
	}
	l.mu.Lock()
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
	if l.head > 1024 && l.head*2 > len(l.ring) {
		n := copy(l.ring, l.ring[l.head:])
		clear(l.ring[n:])
		l.ring = l.ring[:n]
		l.head = 0
	}
	l.signalIdle()
	l.mu.Unlock()
	l.e.budget.release(int64(len(ts)), size)
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
	l.mu.Lock()
	l.inflight--
	l.signalIdle()
	l.mu.Unlock()
	l.e.budget.release(1, t.size)
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
