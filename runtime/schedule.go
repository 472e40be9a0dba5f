package runtime

import (
	"fmt"
	"hash/maphash"
	"time"
)

// keyQueue holds the waiting records of one key in one partition.
type keyQueue struct {
	lane  *lane
	hash  uint64
	own   bool // registered in lane.keys / lane.unkeyed
	tasks []*task
	head  int
	// held counts its records that workers took and that are not settled
	// yet: running, their outputs unacknowledged, or waiting for a retry.
	// The queue is ready (in e.ready) only when held is 0 and a record
	// waits, so a key's records run, and their outputs are sent, one
	// after another even when an output has to be sent again.
	held int
	// late: a hold ended after the worker's round (see unhold).
	late bool
}

func (q *keyQueue) len() int { return len(q.tasks) - q.head }

func (q *keyQueue) pop() *task {
	t := q.tasks[q.head]
	q.tasks[q.head] = nil
	q.head++
	if q.head == len(q.tasks) {
		q.tasks = q.tasks[:0]
		q.head = 0
	}
	return t
}

func (q *keyQueue) pushFront(t *task) {
	if q.head > 0 {
		q.head--
		q.tasks[q.head] = t
		return
	}
	q.tasks = append(q.tasks, nil)
	copy(q.tasks[1:], q.tasks)
	q.tasks[0] = t
}

// insert puts t back among the waiting records in offset order: records
// of one queue that were taken together come back from their retries in
// any order.
func (q *keyQueue) insert(t *task) {
	i := q.head
	for i < len(q.tasks) && q.tasks[i].off < t.off {
		i++
	}
	if i == q.head {
		q.pushFront(t)
		return
	}
	q.tasks = append(q.tasks, nil)
	copy(q.tasks[i+1:], q.tasks[i:])
	q.tasks[i] = t
}

func (e *Engine) newKQ(l *lane, h uint64, own bool) *keyQueue {
	var q *keyQueue
	if n := len(e.kqPool); n > 0 {
		q = e.kqPool[n-1]
		e.kqPool = e.kqPool[:n-1]
	} else {
		q = &keyQueue{}
	}
	q.lane, q.hash, q.own, q.held, q.late = l, h, own, 0, false
	return q
}

func (e *Engine) freeKQ(q *keyQueue) {
	if q.own {
		if q.lane.unkeyed == q {
			q.lane.unkeyed = nil
		} else {
			delete(q.lane.keys, q.hash)
		}
	}
	q.lane = nil
	if len(e.kqPool) < 4096 {
		e.kqPool = append(e.kqPool, q)
	}
}

// unhold ends one record's hold on q: once none holds it, q is ready if a
// record waits, else freed. It returns whether q became ready. late says
// that the hold ended on the sinks' own time (an acknowledgement from a
// sink's goroutine, a retry's backoff), not right after the worker's
// round: the key's next records are then taken together (see worker).
// e.mu is held.
func (e *Engine) unhold(q *keyQueue, late bool) bool {
	q.held--
	q.late = q.late || late
	if q.held > 0 {
		return false
	}
	if q.len() > 0 {
		e.ready = append(e.ready, q)
		return true
	}
	e.freeKQ(q)
	return false
}

// releaseKeys unholds every queue of qs and wakes workers for those that
// became ready.
func (e *Engine) releaseKeys(qs []*keyQueue) {
	if len(qs) == 0 {
		return
	}
	e.mu.Lock()
	woke := 0
	for _, q := range qs {
		if e.unhold(q, true) {
			woke++
		}
	}
	e.mu.Unlock()
	e.wake(woke)
}

// releaseKey is releaseKeys of one queue.
func (e *Engine) releaseKey(q *keyQueue) {
	e.mu.Lock()
	woke := e.unhold(q, true)
	e.mu.Unlock()
	if woke {
		e.cond.Signal()
	}
}

func (e *Engine) wake(n int) {
	switch {
	case n == 1:
		e.cond.Signal()
	case n > 1:
		e.cond.Broadcast()
	}
}

// enqueue places tasks into their key queues and wakes workers.
func (e *Engine) enqueue(l *lane, tasks []task) {
	e.mu.Lock()
	woke := 0
	for i := range tasks {
		t := &tasks[i]
		var q *keyQueue
		switch {
		case t.rec.Key == nil && e.cfg.Flow.UnorderedUnkeyed:
			q = e.newKQ(l, 0, false)
		case t.rec.Key == nil:
			if l.unkeyed == nil {
				l.unkeyed = e.newKQ(l, 0, true)
			}
			q = l.unkeyed
		default:
			h := maphash.Bytes(e.seed, t.rec.Key)
			q = l.keys[h]
			if q == nil {
				q = e.newKQ(l, h, true)
				l.keys[h] = q
			}
		}
		t.q = q
		q.tasks = append(q.tasks, t)
		if q.held == 0 && q.len() == 1 {
			e.ready = append(e.ready, q)
			woke++
		}
	}
	e.mu.Unlock()
	e.wake(woke)
}

func (e *Engine) popReady() *keyQueue {
	q := e.ready[e.rhead]
	e.ready[e.rhead] = nil
	e.rhead++
	if e.rhead == len(e.ready) {
		e.ready = e.ready[:0]
		e.rhead = 0
	} else if e.rhead > 1024 && e.rhead*2 > len(e.ready) {
		n := copy(e.ready, e.ready[e.rhead:])
		clear(e.ready[n:])
		e.ready = e.ready[:n]
		e.rhead = 0
	}
	return q
}

// A worker takes a round of records at a time: at most maxRound, about
// roundBudget of handler time (from a moving average), and no more than a
// fair share of what is ready, so cheap handlers amortise locks and sink
// writes while slow ones (and their outputs) are not held back in a queue
// behind each other.
const (
	maxRound    = 512
	roundBudget = time.Millisecond
)

func (e *Engine) worker(id int) {
	defer e.wg.Done()
	w := &workerState{id: id, fin: finisher{hold: true}}
	e.mu.Lock()
	for {
		// Release the keys of the records the last round finished.
		woke := 0
		for _, q := range w.fin.keys {
			if e.unhold(q, false) {
				woke++
			}
		}
		clear(w.fin.keys)
		w.fin.keys = w.fin.keys[:0]
		if woke > 1 {
			e.cond.Broadcast() // this worker takes its share too
		}
		flushed := false
		for !e.closed && e.rhead == len(e.ready) {
			if !flushed && len(e.flushers) > 0 {
				// Nothing to run: what is held waits for acknowledgements.
				flushed = true
				e.mu.Unlock()
				for _, f := range e.flushers {
					f.Flush()
				}
				e.mu.Lock()
				continue
			}
			e.cond.Wait()
		}
		if e.closed {
			e.mu.Unlock()
			return
		}
		// Take a fair share of the ready keys (at least one, at most
		// maxRound records), so locks and sink writes are paid per round
		// rather than per record while every worker still gets work. The
		// waiting records of a partition's unkeyed queue are taken
		// together (up to the round's size): they could only run one
		// after another anyway, and are next to each other. So are a
		// key's once it waited for a sink (late): it stays held until the
		// outputs of what was taken are acknowledged, so records taken
		// one at a time would go one per acknowledgement round trip,
		// while together they run one after another and their outputs go
		// in one write, in order (a sink fails every message of a
		// partition behind a failed one). Otherwise (acknowledged within
		// the round) a key's records are taken one at a time: they lie
		// far apart in the partition, and taking them together costs
		// more in cache misses than it saves, and moves the work (and
		// the watermark) out of offset order.
		limit := maxRound
		if avg := e.handlerNanos.Load(); avg > 0 {
			limit = min(limit, max(1, int(int64(roundBudget)/avg)))
		}
		n := len(e.ready) - e.rhead
		share := min(limit, 1+(n-1)/e.cfg.Workers)
		w.items = w.items[:0]
		for taken := 0; taken < share && len(w.items) < limit && e.rhead < len(e.ready); taken++ {
			q := e.popReady()
			w.items = append(w.items, workItem{q: q, t: q.pop()})
			q.held++
			for q.len() > 0 && len(w.items) < limit && (q.late || q == q.lane.unkeyed) {
				w.items = append(w.items, workItem{q: q, t: q.pop()})
				q.held++
			}
			q.late = false
			w.items[len(w.items)-1].last = true
		}
		e.mu.Unlock()
		e.runRound(w)
		clear(w.items)
		e.mu.Lock()
	}
}

// workItem is one record a worker took in a round, from key queue q
// (held meanwhile); a key's records in a round are consecutive items, the
// last one marked. t is nil once the record went back to its queue unrun.
type workItem struct {
	q      *keyQueue
	t      *task
	staged bool // outputs staged for the round's sink writes
	last   bool // the key's last item in the round
}

type workerState struct {
	id    int
	items []workItem
	// sb is the send buffer of the next round (the round's outputs per
	// sink, written in one call each); a round that staged outputs hands
	// it over to its tasks.
	sb  *sendBuf
	fin finisher
	// scratch is lent to each record's handler (Record.Out, WorkerLocal);
	// stage has copied what it returned before the next call.
	scratch workerScratch
}

// runRound runs the handler for each item (or, for a record whose output
// failed, takes the outputs it returned before), then hands all outputs
// of the round to each sink in one Write. A key is released only once its
// record's outputs are all acknowledged, so records of one key reach the
// sinks in offset order, a failed output before the next record's.
func (e *Engine) runRound(w *workerState) {
	if large := len(w.items) > smallRound; w.sb == nil || w.sb.large != large {
		if w.sb != nil {
			e.sendBufs[boolIndex(w.sb.large)].Put(w.sb)
		}
		w.sb = e.getSendBuf(len(w.items))
	}
	sb := w.sb
	start, ran, ok, attached := time.Now(), 0, 0, int32(0)
	for i := range w.items {
		it := &w.items[i]
		t := it.t
		if t == nil {
			continue // put back after its key's failure
		}
		if t.lane.dead() {
			e.dropSent(t)
			t.lane.abandon(t)
			w.fin.keys = append(w.fin.keys, it.q)
			continue
		}
		if t.resend {
			t.resend = false
			if e.restage(w, sb, t) {
				attached++
			}
			it.staged = true
			continue
		}
		t.attempt++
		t.rec.Attempt = int(t.attempt)
		t.rec.Worker = w.id
		t.rec.w = &w.scratch
		ran++
		outs, err := e.call(&t.rec)
		if err == nil {
			err = e.stage(w, sb, t, outs)
		}
		if err != nil {
			if !it.last {
				e.putBack(w.items[i:])
			}
			if e.handlerFailed(t, err) {
				w.fin.keys = append(w.fin.keys, it.q)
			}
			continue
		}
		if t.sent != nil {
			attached++
		}
		it.staged = true
		ok++
	}
	if ran > 0 {
		e.runs.Add(int64(ran))
	}
	if ran > 0 {
		// One clock read per round: each record of the round is counted
		// with the round's mean handler time, which also feeds the
		// moving average (1/8 weight) that sizes rounds.
		per := time.Since(start) / time.Duration(ran)
		e.metrics.latency.observeN(per, ran)
		old := e.handlerNanos.Load()
		e.handlerNanos.Store(old - old/8 + int64(per)/8)
	}
	if len(e.sinks) > 1 {
		// With several sinks each message acknowledges through its span,
		// which notes the sink that failed it.
		for k := range sb.spans {
			s := &sb.spans[k]
			msgs := sb.out[s.sink][s.lo:s.hi]
			for j := range msgs {
				msgs[j].Ack = s
			}
		}
	}
	// The tasks hold the buffer from here; their guards (taken in stage)
	// keep it alive until the writes below are done.
	sb.live.Store(attached)
	for si := range e.sinks {
		msgs := sb.out[si]
		if len(msgs) == 0 {
			continue
		}
		ns := &e.sinks[si]
		if err := ns.sink.Write(e.ctx, msgs); err != nil {
			for j := range msgs {
				msgs[j].Ack.Done(err)
			}
		} else {
			e.sent.Add(int64(len(msgs)))
			ns.sent.Add(int64(len(msgs)))
		}
	}
	if attached > 0 {
		w.sb = nil
	}
	for i := range w.items {
		if w.items[i].staged {
			w.fin.done(w.items[i].t) // the guard taken in stage
		}
	}
	w.fin.flush()
}

// putBack returns the records after items[0] of its key, unrun, to the
// front of the key's queue, in order, and makes items[0] the key's last
// item of the round. It runs before the failure of items[0] is handled,
// so a retry goes back in front of them.
func (e *Engine) putBack(items []workItem) {
	q := items[0].q
	end := 1
	for !items[end-1].last {
		end++
	}
	e.mu.Lock()
	for j := end - 1; j >= 1; j-- {
		q.pushFront(items[j].t)
		q.held--
		items[j] = workItem{}
	}
	e.mu.Unlock()
	items[0].last = true
}

// stage routes t's outputs into the round's per-sink batches in sb. t
// finishes once every sink acknowledged its messages and the round
// released the guard.
func (e *Engine) stage(w *workerState, sb *sendBuf, t *task, outs []Output) error {
	for i := range outs {
		for _, to := range outs[i].To {
			if _, ok := e.sinkByID[to]; !ok {
				return &RouteError{To: to}
			}
		}
	}
	if t.outErr.Load() != nil {
		t.outErr.Store(nil)
	}
	n := int32(1) // the guard, released after the round's writes
	if len(e.sinks) == 1 {
		// One sink: t's messages are out[0][spans[0]:spans[1]], and t
		// acknowledges them itself.
		id := e.sinks[0].id
		msgs := sb.out[0]
		from := len(msgs)
		for i := range outs {
			if o := &outs[i]; routes(o.To, id) {
				msgs = append(msgs, Message{Key: o.Key, Value: o.Value, Headers: o.Headers, Timestamp: o.stamp(&t.rec), Worker: w.id, Ack: t})
			}
		}
		sb.out[0] = msgs
		n += int32(len(msgs) - from)
		e.sentIn(t, sb, from, len(msgs), n)
		return nil
	}
	lo := len(sb.spans)
	if len(outs) > 0 {
		for si := range e.sinks {
			id := e.sinks[si].id
			msgs := sb.out[si]
			from := len(msgs)
			for i := range outs {
				if o := &outs[i]; routes(o.To, id) {
					msgs = append(msgs, Message{Key: o.Key, Value: o.Value, Headers: o.Headers, Timestamp: o.stamp(&t.rec), Worker: w.id, Ack: t})
				}
			}
			if len(msgs) > from {
				sb.out[si] = msgs
				sb.spans = append(sb.spans, outSpan{t: t, sink: int32(si), lo: int32(from), hi: int32(len(msgs))})
				n += int32(len(msgs) - from)
			}
		}
	}
	e.sentIn(t, sb, lo, len(sb.spans), n)
	return nil
}

// sentIn records that t's outputs of this send are sb's [lo, hi): message
// indexes in out[0] with one sink, span indexes with several. n is t's
// pending count (its messages and the round's guard).
func (e *Engine) sentIn(t *task, sb *sendBuf, lo, hi int, n int32) {
	t.spans = [2]int32{int32(lo), int32(hi)}
	t.sent = nil
	if hi > lo {
		t.sent = sb
	}
	t.pending.Store(n)
}

// restage routes into sb, for their resend, the outputs of t's last send
// that were not acknowledged: all of them with one sink, those of the
// sinks that failed them with several. It reports whether t holds sb.
func (e *Engine) restage(w *workerState, sb *sendBuf, t *task) bool {
	old := t.sent
	t.outErr.Store(nil)
	n := int32(1) // the guard, as in stage
	if len(e.sinks) == 1 {
		msgs := sb.out[0]
		from := len(msgs)
		if old != nil {
			for _, m := range old.out[0][t.spans[0]:t.spans[1]] {
				m.Worker, m.Ack = w.id, t
				msgs = append(msgs, m)
			}
			old.release(e, 1)
		}
		sb.out[0] = msgs
		n += int32(len(msgs) - from)
		e.sentIn(t, sb, from, len(msgs), n)
		return t.sent != nil
	}
	lo := len(sb.spans)
	if old != nil {
		for k := t.spans[0]; k < t.spans[1]; k++ {
			s := &old.spans[k]
			if !s.failed.Load() {
				continue // acknowledged by its sink
			}
			msgs := sb.out[s.sink]
			from := len(msgs)
			for _, m := range old.out[s.sink][s.lo:s.hi] {
				m.Worker, m.Ack = w.id, t
				msgs = append(msgs, m)
			}
			sb.out[s.sink] = msgs
			sb.spans = append(sb.spans, outSpan{t: t, sink: s.sink, lo: int32(from), hi: int32(len(msgs))})
			n += s.hi - s.lo
		}
		old.release(e, 1)
	}
	e.sentIn(t, sb, lo, len(sb.spans), n)
	return t.sent != nil
}

// call runs the handler, turning a panic into an error.
func (e *Engine) call(rec *Record) (outs []Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return e.handler(e.ctx, rec)
}

// PanicError is a handler panic, recovered and treated as a failure.
type PanicError struct{ Value any }

func (p *PanicError) Error() string { return fmt.Sprintf("handler panic: %v", p.Value) }

// RouteError is an output naming an outbound client that does not exist.
type RouteError struct{ To string }

func (r *RouteError) Error() string {
	return fmt.Sprintf("output routed to unknown outbound client %q", r.To)
}

func routes(to []string, id string) bool {
	if len(to) == 0 {
		return true
	}
	for _, x := range to {
		if x == id {
			return true
		}
	}
	return false
}

// stamp is o's timestamp: its own, else the inbound record's (event time
// carries through), else zero (the time of writing).
func (o *Output) stamp(rec *Record) time.Time {
	if !o.Timestamp.IsZero() {
		return o.Timestamp
	}
	return rec.Time
}
