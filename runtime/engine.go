package runtime

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Engine runs a Handler over records that Sources submit through lanes, on
// a bounded pool of workers, and writes the outputs to Sinks.
//
// Ordering: records of one partition with the same key run one at a time,
// in offset order; other keys run in parallel on any worker. Records
// without a key share one queue per partition unless
// Flow.UnorderedUnkeyed is set.
//
// A record is finished when the handler returned and every output it made
// was acknowledged by its sink, or when the failure policy disposed of it
// (dead letter acknowledged, or skipped). Lanes report the watermark below
// which every record is finished; Sources commit only that.
type Engine struct {
	cfg     Config
	handler Handler
	log     *slog.Logger
	budget  *budget
	seed    maphash.Seed

	sinks    []namedSink
	sinkByID map[string]int
	// deadLetters holds the dead-letter sink per source id.
	deadLetters map[string]Sink

	// mu guards the scheduler: key queues, the ready queue and retries.
	mu      sync.Mutex
	cond    *sync.Cond
	ready   []*keyQueue
	rhead   int
	retries []*task
	closed  bool
	kqPool  []*keyQueue

	ctx    context.Context // handlers' context; ends at hard stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	timers sync.WaitGroup

	lanesMu sync.Mutex
	lanes   map[*lane]struct{}

	fatalOnce sync.Once
	fatal     chan struct{}
	fatalErr  error

	consumed, processed, failed, retried, deadLettered, skipped, written atomic.Int64

	// onSkip, when set, sees every record the Skip policy drops.
	onSkip func(Record)

	metrics *engineMetrics
	// handlerNanos is a moving average of handler time per record, which
	// sizes the workers' rounds.
	handlerNanos atomic.Int64
}

type namedSink struct {
	id      string
	sink    Sink
	written atomic.Int64
}

// Stats are the engine's counters since it started.
type Stats struct {
	Consumed, Processed, Failed, Retried, DeadLettered, Skipped, Written int64
	InFlightRecords, InFlightBytes                                       int64
}

// NewEngine returns an engine that runs h with cfg's workers, flow and
// failure policy over the given sinks (keyed by outbound client id).
// deadLetters maps a source id to the sink its dead letters go to; it may
// be nil when the policy is not DeadLetter.
func NewEngine(cfg Config, h Handler, sinks map[string]Sink, order []string, deadLetters map[string]Sink) *Engine {
	cfg = cfg.Defaults()
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:         cfg,
		handler:     h,
		log:         cfg.Logger.With("component", "engine"),
		budget:      newBudget(cfg.Flow.MaxInFlightRecords, cfg.Flow.MaxInFlightBytes),
		seed:        maphash.MakeSeed(),
		sinkByID:    map[string]int{},
		deadLetters: deadLetters,
		ctx:         ctx,
		cancel:      cancel,
		lanes:       map[*lane]struct{}{},
		fatal:       make(chan struct{}),
		metrics:     newEngineMetrics(cfg),
	}
	e.cond = sync.NewCond(&e.mu)
	for _, id := range order {
		if s, ok := sinks[id]; ok {
			e.sinkByID[id] = len(e.sinks)
			e.sinks = append(e.sinks, namedSink{id: id, sink: s})
		}
	}
	return e
}

// Start launches the workers.
func (e *Engine) Start() {
	for w := 0; w < e.cfg.Workers; w++ {
		e.wg.Add(1)
		go e.worker(w)
	}
}

// Stop ends the workers, waiting for running handlers to return (their
// context is cancelled once ctx ends), and gives up pending retries. Call
// it after every Source has drained its lanes.
func (e *Engine) Stop(ctx context.Context) {
	e.mu.Lock()
	e.closed = true
	e.cond.Broadcast()
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		e.cancel()
		<-done
	}
	e.cancel()
	e.timers.Wait()
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// Fatal is closed when the failure policy stops the processor; Err then
// says why.
func (e *Engine) Fatal() <-chan struct{} { return e.fatal }

// Err returns the error that stopped the engine, if any.
func (e *Engine) Err() error {
	select {
	case <-e.fatal:
		return e.fatalErr
	default:
		return nil
	}
}

func (e *Engine) stop(err error) {
	e.fatalOnce.Do(func() {
		e.fatalErr = err
		close(e.fatal)
	})
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	r, b := e.budget.inFlight()
	return Stats{
		Consumed: e.consumed.Load(), Processed: e.processed.Load(), Failed: e.failed.Load(),
		Retried: e.retried.Load(), DeadLettered: e.deadLettered.Load(), Skipped: e.skipped.Load(),
		Written: e.written.Load(), InFlightRecords: r, InFlightBytes: b,
	}
}

// Open implements Intake.
func (e *Engine) Open(source, topic string, partition int32) Lane {
	l := &lane{e: e, source: source, topic: topic, partition: partition,
		keys: map[uint64]*keyQueue{}, next: -1}
	l.hwm.Store(-1)
	l.committed.Store(-1)
	for _, in := range e.cfg.Inbound {
		if in.ID == source {
			l.maxRetries = in.MaxRetries
		}
	}
	e.lanesMu.Lock()
	e.lanes[l] = struct{}{}
	e.lanesMu.Unlock()
	e.log.Info("partition opened", "source", source, "topic", topic, "partition", partition)
	return &laneHandle{l}
}

// laneHandle forgets the lane once drained.
type laneHandle struct{ *lane }

func (h *laneHandle) Drain(ctx context.Context) (int64, bool) {
	next, ok := h.lane.Drain(ctx)
	h.e.lanesMu.Lock()
	delete(h.e.lanes, h.lane)
	h.e.lanesMu.Unlock()
	h.e.log.Info("partition closed", "source", h.source, "topic", h.topic, "partition", h.partition, "next_offset", next)
	return next, ok
}

// OldestInFlight returns the age of the oldest unfinished record over every
// open lane (0 when none).
func (e *Engine) OldestInFlight() time.Duration {
	e.lanesMu.Lock()
	defer e.lanesMu.Unlock()
	var oldest time.Time
	for l := range e.lanes {
		if t, ok := l.oldest(); ok && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}

// task is one record on its way through the engine.
//
// Its first 48 bytes hold all that acknowledging and finishing it read
// and write, so that path touches one cache line per record (tasks are
// 256 bytes, in page-aligned slabs).
type task struct {
	lane    *lane
	slab    *slab
	size    int64
	off     int64 // rec.Offset
	outErr  atomic.Pointer[error]
	pending atomic.Int32
	done    bool // guarded by lane.mu
	dead    bool // the pending write is a dead letter

	rec     Record
	since   time.Duration // submitted, as monoSince reads it
	attempt int
	lastErr error
	// transient counts tries that failed on a transient outbound error;
	// they do not count against the retry limit.
	transient int
}

// monoBase is the origin of task.since: durations since it are read on
// the monotonic clock and take 8 bytes, a time.Time 24.
var monoBase = time.Now()

func monoSince() time.Duration { return time.Since(monoBase) }

// Done implements Acker for every output of the task.
func (t *task) Done(err error) {
	if err != nil {
		t.fail(err)
	}
	if t.pending.Add(-1) == 0 {
		t.lane.e.settle(t)
	}
}

// finisher finishes the tasks whose outputs were all acknowledged without
// error in runs of one lane: one lane lock and one budget release per run
// rather than per record. Its buffer is reused; one goroutine owns it.
type finisher struct {
	buf []*task
}

// done is t.Done(nil), with the finishing held until the lane changes or
// flush.
func (f *finisher) done(t *task) {
	if t.pending.Add(-1) != 0 {
		return
	}
	if t.dead || t.outErr.Load() != nil {
		t.lane.e.settle(t)
		return
	}
	if n := len(f.buf); n > 0 && f.buf[n-1].lane != t.lane {
		f.flush()
	}
	f.buf = append(f.buf, t)
}

// flush finishes the held tasks.
func (f *finisher) flush() {
	if len(f.buf) > 0 {
		f.buf[0].lane.finishAll(f.buf)
		clear(f.buf)
		f.buf = f.buf[:0]
	}
}

// ackAll calls Done(nil) on every Acker of acks; the engine's own (tasks)
// are finished in runs through f. Sinks acknowledging many messages at
// once use it.
func ackAll(acks []Acker, f *finisher) {
	for _, a := range acks {
		if t, ok := a.(*task); ok {
			f.done(t)
		} else if a != nil {
			a.Done(nil)
		}
	}
	f.flush()
}

// fail records the task's first output error. It is apart from Done so
// that Done's parameter does not escape (no allocation per ack).
func (t *task) fail(err error) {
	p := new(error)
	*p = err
	t.outErr.CompareAndSwap(nil, p)
}

// keyQueue holds the waiting records of one key in one partition.
type keyQueue struct {
	lane  *lane
	hash  uint64
	own   bool // registered in lane.keys / lane.unkeyed
	tasks []*task
	head  int
	busy  bool
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

func (e *Engine) newKQ(l *lane, h uint64, own bool) *keyQueue {
	var q *keyQueue
	if n := len(e.kqPool); n > 0 {
		q = e.kqPool[n-1]
		e.kqPool = e.kqPool[:n-1]
	} else {
		q = &keyQueue{}
	}
	q.lane, q.hash, q.own, q.busy = l, h, own, false
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
		q.tasks = append(q.tasks, t)
		if !q.busy && q.len() == 1 {
			e.ready = append(e.ready, q)
			woke++
		}
	}
	switch {
	case woke == 1:
		e.cond.Signal()
	case woke > 1:
		e.cond.Broadcast()
	}
	e.mu.Unlock()
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
	w := &workerState{id: id, out: make([][]Message, len(e.sinks))}
	e.mu.Lock()
	for {
		for !e.closed && len(e.retries) == 0 && e.rhead == len(e.ready) {
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
		// after another anyway, and are next to each other. A key's are
		// not: they lie far apart in the partition, and taking them
		// together costs more in cache misses than it saves, and moves
		// the work (and the watermark) out of offset order.
		limit := maxRound
		if avg := e.handlerNanos.Load(); avg > 0 {
			limit = min(limit, max(1, int(int64(roundBudget)/avg)))
		}
		n := len(e.retries) + len(e.ready) - e.rhead
		share := min(limit, 1+(n-1)/e.cfg.Workers)
		w.items = w.items[:0]
		for len(w.items) < share && len(e.retries) > 0 {
			w.items = append(w.items, workItem{t: e.retries[0]})
			e.retries[0] = nil
			e.retries = e.retries[1:]
		}
		for taken := len(w.items); taken < share && len(w.items) < limit && e.rhead < len(e.ready); taken++ {
			q := e.popReady()
			q.busy = true
			w.items = append(w.items, workItem{q: q, t: q.pop()})
			for q.len() > 0 && len(w.items) < limit && q == q.lane.unkeyed {
				w.items = append(w.items, workItem{q: q, t: q.pop()})
			}
			w.items[len(w.items)-1].last = true
		}
		e.mu.Unlock()
		e.runRound(w)
		e.mu.Lock()
		requeued := 0
		for i := range w.items {
			it := &w.items[i]
			if it.q == nil || !it.last || !it.release {
				continue
			}
			it.q.busy = false
			if it.q.len() > 0 {
				e.ready = append(e.ready, it.q)
				requeued++
			} else {
				e.freeKQ(it.q)
			}
		}
		clear(w.items)
		switch {
		case requeued == 1:
			e.cond.Signal()
		case requeued > 1:
			e.cond.Broadcast()
		}
	}
}

// workItem is one record a worker took in a round. q is its key queue
// (busy meanwhile), nil for a retry after an outbound failure; a key's
// records in a round are consecutive items, the last one marked. t is nil
// once the record went back to its queue unrun.
type workItem struct {
	q       *keyQueue
	t       *task
	staged  bool // outputs staged for the round's sink writes
	release bool // the key may move on after the round (read on its last item)
	last    bool // the key's last item in the round
}

type workerState struct {
	id    int
	items []workItem
	// out holds the round's outputs per sink, written in one call each.
	out [][]Message
	fin finisher
	// scratch is lent to each record's handler (Record.Out, WorkerLocal);
	// stage has copied what it returned before the next call.
	scratch workerScratch
}

// runRound runs the handler for each item, then hands all outputs of the
// round to each sink in one Write. Keys are released only after that (by
// the caller), so records of one key reach the sinks in offset order.
func (e *Engine) runRound(w *workerState) {
	start, ran, ok := time.Now(), 0, 0
	for i := range w.items {
		it := &w.items[i]
		t := it.t
		if t == nil {
			continue // put back after its key's failure
		}
		if t.lane.dead() {
			t.lane.abandon(t)
			it.release = true
			continue
		}
		t.attempt++
		t.rec.Attempt = t.attempt
		t.rec.Worker = w.id
		t.rec.w = &w.scratch
		ran++
		outs, err := e.call(&t.rec)
		if err == nil {
			err = e.stage(w, t, outs)
		}
		if err != nil {
			if it.q != nil && !it.last {
				e.putBack(w.items[i:])
			}
			it.release = e.handleFailure(t, it.q, err)
			continue
		}
		it.staged, it.release = true, true
		ok++
	}
	if ok > 0 {
		e.processed.Add(int64(ok))
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
	for si := range e.sinks {
		msgs := w.out[si]
		if len(msgs) == 0 {
			continue
		}
		ns := &e.sinks[si]
		if err := ns.sink.Write(e.ctx, msgs); err != nil {
			for j := range msgs {
				msgs[j].Ack.Done(err)
			}
		} else {
			e.written.Add(int64(len(msgs)))
			ns.written.Add(int64(len(msgs)))
		}
		clear(msgs)
		w.out[si] = msgs[:0]
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
		items[j] = workItem{}
	}
	e.mu.Unlock()
	items[0].last = true
}

// stage routes t's outputs into the round's per-sink batches. t finishes
// once every sink acknowledged its messages and the round released the
// guard.
func (e *Engine) stage(w *workerState, t *task, outs []Output) error {
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
	for i := range outs {
		o := &outs[i]
		for si := range e.sinks {
			if routes(o.To, e.sinks[si].id) {
				w.out[si] = append(w.out[si], Message{Key: o.Key, Value: o.Value, Headers: o.Headers, Worker: w.id, Ack: t})
				n++
			}
		}
	}
	t.pending.Store(n)
	return nil
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

// settle runs when every output of t was acknowledged (or failed).
func (e *Engine) settle(t *task) {
	var err error
	if p := t.outErr.Load(); p != nil {
		err = *p
	}
	switch {
	case t.dead && err != nil:
		e.failed.Add(1)
		e.log.Warn("dead-letter write failed; partition halted until it succeeds",
			"topic", t.rec.Topic, "partition", t.rec.Partition, "offset", t.rec.Offset, "err", err)
		e.after(e.backoff(t.attempt), func() {
			if e.isClosed() {
				t.lane.abandon(t)
				return
			}
			e.writeDeadLetter(t)
		})
	case t.dead:
		e.deadLettered.Add(1)
		t.lane.finish(t)
	case err != nil:
		// An outbound failure: the whole record runs again (outputs that
		// did land may be written twice: at-least-once). A transient one
		// (broker away, timeout, disk full) says nothing about the record,
		// so it does not spend the record's tries: the record waits, its
		// partition's watermark with it, and the budget pauses fetching.
		if !IsPermanent(err) {
			t.transient++
		}
		e.handleFailure(t, nil, err)
	default:
		t.lane.finish(t)
	}
}

// handleFailure deals with a failed handler run. It returns whether the
// key may move on.
func (e *Engine) handleFailure(t *task, q *keyQueue, err error) bool {
	if !e.retryable(t, err) {
		return e.exhausted(t, err)
	}
	e.after(e.backoff(t.attempt), func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.closed {
			t.lane.abandon(t)
			return
		}
		if q == nil {
			e.retries = append(e.retries, t)
		} else {
			q.pushFront(t)
			q.busy = false
			e.ready = append(e.ready, q)
		}
		e.cond.Signal()
	})
	return false
}

// retryable counts a failure and says whether the record gets another try.
func (e *Engine) retryable(t *task, err error) bool {
	e.failed.Add(1)
	t.lastErr = err
	if t.attempt-t.transient <= t.lane.maxRetries && !IsPermanent(err) {
		e.retried.Add(1)
		e.log.Debug("record failed; retrying", "topic", t.rec.Topic, "partition", t.rec.Partition,
			"offset", t.rec.Offset, "attempt", t.attempt, "err", err)
		return true
	}
	return false
}

// exhausted applies the failure policy to a record whose tries are spent.
// It returns whether the key may move on.
func (e *Engine) exhausted(t *task, err error) bool {
	switch e.cfg.Failure.OnFailure {
	case DeadLetter:
		e.log.Warn("record failed on every try; dead-lettering", "topic", t.rec.Topic,
			"partition", t.rec.Partition, "offset", t.rec.Offset, "attempts", t.attempt, "err", err)
		e.writeDeadLetter(t)
		return true
	case Skip:
		e.skipped.Add(1)
		if e.onSkip != nil {
			e.onSkip(t.rec)
		}
		e.log.Warn("record failed on every try; skipped", "topic", t.rec.Topic,
			"partition", t.rec.Partition, "offset", t.rec.Offset, "attempts", t.attempt, "err", err)
		t.lane.finish(t)
		return true
	default:
		e.log.Error("record failed on every try; stopping", "topic", t.rec.Topic,
			"partition", t.rec.Partition, "offset", t.rec.Offset, "attempts", t.attempt, "err", err)
		e.stop(fmt.Errorf("record %s/%d@%d failed after %d attempts: %w",
			t.rec.Topic, t.rec.Partition, t.rec.Offset, t.attempt, err))
		t.lane.abandon(t)
		return false
	}
}

// Dead-letter headers added to the original record's headers.
const (
	HeaderTopic     = "kgen.topic"
	HeaderPartition = "kgen.partition"
	HeaderOffset    = "kgen.offset"
	HeaderError     = "kgen.error"
	HeaderAttempts  = "kgen.attempts"
	HeaderSource    = "kgen.source"
)

func (e *Engine) writeDeadLetter(t *task) {
	sink := e.deadLetters[t.lane.source]
	if sink == nil {
		e.stop(fmt.Errorf("no dead-letter client for source %q", t.lane.source))
		t.lane.abandon(t)
		return
	}
	errText := "unknown"
	if t.lastErr != nil {
		errText = t.lastErr.Error()
	}
	hdrs := make([]Header, 0, len(t.rec.Headers)+6)
	hdrs = append(hdrs, t.rec.Headers...)
	hdrs = append(hdrs,
		Header{Key: HeaderTopic, Value: []byte(t.rec.Topic)},
		Header{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(t.rec.Partition), 10)},
		Header{Key: HeaderOffset, Value: strconv.AppendInt(nil, t.rec.Offset, 10)},
		Header{Key: HeaderError, Value: []byte(errText)},
		Header{Key: HeaderAttempts, Value: strconv.AppendInt(nil, int64(t.attempt), 10)},
		Header{Key: HeaderSource, Value: []byte(t.lane.source)},
	)
	t.dead = true
	t.outErr.Store(nil)
	t.pending.Store(1)
	msg := []Message{{Key: t.rec.Key, Value: t.rec.Value, Headers: hdrs, Topic: e.cfg.Failure.DeadLetterTopic, Ack: t}}
	if err := sink.Write(e.ctx, msg); err != nil {
		t.Done(err)
	}
}

// backoff is the delay before try attempt+1: Backoff doubled per try, up
// to MaxBackoff.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.Failure.Backoff
	for i := 1; i < attempt && d < e.cfg.Failure.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, e.cfg.Failure.MaxBackoff)
}

// after runs f after d unless the engine stops first (then f runs at once,
// and sees e.closed).
func (e *Engine) after(d time.Duration, f func()) {
	e.timers.Add(1)
	go func() {
		defer e.timers.Done()
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-e.ctx.Done():
		}
		f()
	}()
}
