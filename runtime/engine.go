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
// A key (or a partition's unkeyed queue) is held from the moment a worker
// takes its waiting records until every output of those records is
// acknowledged by every sink: no later record of the key runs or is sent
// before, so outputs of one key reach the sinks in offset order even when
// a send fails. The records taken together go to each sink in one Write,
// in order; should one fail, a sink fails those behind it in the same
// partition too (see Sink), and they are all sent again, in order. Other
// keys keep flowing meanwhile.
//
// A handler error (or panic) runs the handler again after the backoff, up
// to the source's MaxRetries, then applies the failure policy. An output
// that fails to send does not run the handler again: after the backoff
// the engine sends the outputs the handler returned once more, only to the
// sinks that did not acknowledge them, as often as it takes for a
// transient error (it says nothing about the record, so it never spends
// the record's tries); a permanent one (ErrPermanent) goes to the failure
// policy at once.
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
	// flushers are the sinks that are Flushers.
	flushers []Flusher
	// deadLetters holds the dead-letter sink per source id.
	deadLetters map[string]Sink

	// mu guards the scheduler: key queues and the ready queue.
	mu     sync.Mutex
	cond   *sync.Cond
	ready  []*keyQueue
	rhead  int
	closed bool
	kqPool []*keyQueue
	// sendBufs pools the rounds' send buffers: [0] small rounds, [1]
	// large ones.
	sendBufs [2]sync.Pool

	ctx    context.Context // handlers' context; ends at hard stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	timers sync.WaitGroup

	lanesMu sync.Mutex
	lanes   map[*lane]struct{}

	fatalOnce sync.Once
	fatal     chan struct{}
	fatalErr  error

	// processed counts records finished with every output acknowledged
	// (not the failure policy's), runs the runs of the handler (tries),
	// abandoned the records given up unfinished at shutdown, uncommitted
	// the finished records a drain left behind an unfinished one (see
	// Stats.Uncommitted), sent the outputs handed to the outbound clients.
	consumed, processed, runs, failed, retried, deadLettered, skipped, abandoned, uncommitted, sent atomic.Int64

	// onSkip, when set, sees every record the Skip policy drops.
	onSkip func(Record)

	metrics *engineMetrics
	// handlerNanos is a moving average of handler time per record, which
	// sizes the workers' rounds.
	handlerNanos atomic.Int64
}

// Flusher is a Sink that holds outputs back to batch them (a linger, a
// flush interval) and can be told to write what it holds now. The engine
// tells it whenever a worker runs out of records to run: a key waits for
// the acknowledgement of its record's outputs before its next record
// runs, so a sink waiting for its timer with a partial batch would leave
// the pipeline idle. Flush must neither block nor call back into the
// engine.
type Flusher interface {
	Flush()
}

type namedSink struct {
	id   string
	sink Sink
	// sent counts the messages handed to the sink, acked those it
	// acknowledged without error.
	sent, acked atomic.Int64
}

// Stats are the engine's counters since it started.
//
// Processed counts records finished with every output acknowledged;
// DeadLettered and Skipped those the failure policy finished; Abandoned
// those given up unfinished at shutdown (the next run consumes them again
// from the last commit); Uncommitted the finished records that followed an
// abandoned one in their partition when its lane was drained: the
// watermark stops at the abandoned record, so they are not committed
// either and the next run processes them again (their outputs are written
// twice). Abandoned plus Uncommitted bounds what a stop makes the next run
// repeat. Runs counts the handler's runs (a retried record
// runs several times), Failed the failed tries (handler or output),
// Retried the tries scheduled again. Sent counts the outputs handed to the
// outbound clients, Acked those acknowledged.
type Stats struct {
	Consumed, Processed, DeadLettered, Skipped, Abandoned, Uncommitted int64
	Runs, Failed, Retried                                              int64
	Sent, Acked                                                        int64
	InFlightRecords, InFlightBytes                                     int64
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
			if f, ok := s.(Flusher); ok {
				e.flushers = append(e.flushers, f)
			}
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
	var acked int64
	for i := range e.sinks {
		acked += e.sinks[i].acked.Load()
	}
	return Stats{
		Consumed: e.consumed.Load(), Processed: e.processed.Load(), DeadLettered: e.deadLettered.Load(),
		Skipped: e.skipped.Load(), Abandoned: e.abandoned.Load(),
		Uncommitted: e.uncommitted.Load(), Runs: e.runs.Load(), Failed: e.failed.Load(), Retried: e.retried.Load(),
		Sent: e.sent.Load(), Acked: acked, InFlightRecords: r, InFlightBytes: b,
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
	// resend makes the record's next run send again the outputs Process
	// returned (those a sink failed) instead of running Process.
	resend bool

	rec   Record
	since time.Duration // submitted, as monoSince reads it
	// q is the key queue the record belongs to. From the moment a worker
	// takes the record until it is settled (finished, disposed of, or put
	// back into q) it holds q: no later record of the key runs meanwhile.
	q *keyQueue
	// sent holds the outputs of its last send: with one sink
	// sent.out[0][spans[0]:spans[1]], with several sent.spans[spans[0]:
	// spans[1]]; nil when it sent nothing.
	sent  *sendBuf
	spans [2]int32
	// attempt counts the runs of Process.
	attempt int32
	// transient counts consecutive sends that failed on a transient
	// outbound error; they do not count against the retry limit.
	transient int32
}

// monoBase is the origin of task.since: durations since it are read on
// the monotonic clock and take 8 bytes, a time.Time 24.
var monoBase = time.Now()

func monoSince() time.Duration { return time.Since(monoBase) }

// Done implements Acker for every output of the task (with one sink).
func (t *task) Done(err error) {
	if err == nil {
		// A task is its messages' Acker only with one sink.
		t.lane.e.sinks[0].acked.Add(1)
	}
	t.ack(err)
}

// ack is Done without the count.
func (t *task) ack(err error) {
	if err != nil {
		t.fail(err)
	}
	if t.pending.Add(-1) == 0 {
		t.lane.e.settle(t)
	}
}

// fail records the task's first output error. It is apart from Done so
// that Done's parameter does not escape (no allocation per ack).
func (t *task) fail(err error) {
	p := new(error)
	*p = err
	t.outErr.CompareAndSwap(nil, p)
}

// lastErr is the error of the record's last failed try (handler or
// output), nil if none.
func (t *task) lastErr() error {
	if p := t.outErr.Load(); p != nil {
		return *p
	}
	return nil
}

// sendBuf holds the messages a worker handed to the sinks in one round,
// per sink, until every task whose outputs they are is settled: a failed
// output is sent again from here, without running Process again. Send
// buffers are pooled; live counts the tasks still pointing into one.
type sendBuf struct {
	out   [][]Message // per sink, in the order written
	spans []outSpan
	live  atomic.Int32
	large bool // from the pool of large rounds
}

// outSpan is a task's messages to one sink in a sendBuf: out[sink][lo:hi].
// It is their Acker, so that a resend goes only to the sinks that failed.
// With one sink there are none: the task is the Acker.
type outSpan struct {
	t      *task
	sink   int32
	lo, hi int32
	failed atomic.Bool
}

// Done implements Acker.
func (s *outSpan) Done(err error) {
	if err != nil {
		s.failed.Store(true)
	} else {
		s.t.lane.e.sinks[s.sink].acked.Add(1)
	}
	s.t.ack(err)
}

// smallRound is the largest round whose outputs take a buffer from the
// pool of small rounds: a send buffer lives until its outputs are
// acknowledged, so one-record rounds (slow handlers) must not each hold a
// buffer grown by a 512-record round.
const smallRound = 16

func (e *Engine) getSendBuf(items int) *sendBuf {
	large := items > smallRound
	if b, ok := e.sendBufs[boolIndex(large)].Get().(*sendBuf); ok {
		return b
	}
	return &sendBuf{out: make([][]Message, len(e.sinks)), large: large}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// release drops n tasks' references; the last one returns the buffer to
// its pool, emptied.
func (b *sendBuf) release(e *Engine, n int32) {
	if b.live.Add(-n) != 0 {
		return
	}
	b.reset()
	e.sendBufs[boolIndex(b.large)].Put(b)
}

func (b *sendBuf) reset() {
	for si := range b.out {
		clear(b.out[si])
		b.out[si] = b.out[si][:0]
	}
	clear(b.spans)
	b.spans = b.spans[:0]
}

// dropSent forgets t's last send (its outputs were acknowledged, or the
// record is disposed of).
func (e *Engine) dropSent(t *task) {
	if t.sent != nil {
		t.sent.release(e, 1)
		t.sent = nil
	}
}

// finisher finishes the tasks whose outputs were all acknowledged without
// error in runs of one lane: one lane lock, one budget release and one
// engine lock (to release their keys) per run rather than per record. Its
// buffers are reused; one goroutine owns it.
type finisher struct {
	buf []*task
	// keys are the key queues the finished tasks held, to release. With
	// hold set (a worker's own finisher), flush leaves them to the owner,
	// which releases them under the engine lock it takes for its next
	// round anyway.
	keys []*keyQueue
	hold bool
}

// done is t.Done(nil), with the finishing held until the lane changes or
// flush.
func (f *finisher) done(t *task) {
	if t.pending.Add(-1) != 0 {
		return
	}
	if t.outErr.Load() != nil {
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
	if len(f.buf) == 0 {
		return
	}
	e := f.buf[0].lane.e
	// Read what the tasks point to before finishing them: past the
	// watermark a task is reused at once.
	var sb *sendBuf
	var n int32
	for _, t := range f.buf {
		f.keys = append(f.keys, t.q)
		if t.sent != sb {
			if sb != nil {
				sb.release(e, n)
			}
			sb, n = t.sent, 0
		}
		t.sent = nil
		n++
	}
	if sb != nil {
		sb.release(e, n)
	}
	f.buf[0].lane.finishAll(f.buf, true)
	clear(f.buf)
	f.buf = f.buf[:0]
	if !f.hold {
		e.releaseKeys(f.keys)
		clear(f.keys)
		f.keys = f.keys[:0]
	}
}

// ackAll calls Done(nil) on every Acker of acks; the engine's own (tasks)
// are finished in runs through f. Acks.Succeed is its public face.
func ackAll(acks []Acker, f *finisher) {
	var one *namedSink // the single sink, whose Ackers are tasks
	var n int64
	defer func() {
		if one != nil {
			one.acked.Add(n)
		}
	}()
	for _, a := range acks {
		switch a := a.(type) {
		case *task:
			one = &a.lane.e.sinks[0]
			n++
			f.done(a)
		case *outSpan:
			a.t.lane.e.sinks[a.sink].acked.Add(1)
			f.done(a.t)
		case nil:
		default:
			a.Done(nil)
		}
	}
	f.flush()
}

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

// settle runs when every output of t was acknowledged (or failed).
func (e *Engine) settle(t *task) {
	err := t.lastErr()
	if err != nil {
		e.outboundFailed(t, err)
		return
	}
	q := t.q
	e.dropSent(t)
	t.lane.finishAll([]*task{t}, true)
	e.releaseKey(q)
}

// outboundFailed deals with a record some of whose outputs failed. Its key
// stays held. A transient error (broker away, timeout, disk full) says
// nothing about the record: after the backoff the outputs that were not
// acknowledged are sent again, as often as it takes, without spending the
// record's tries (the partition's watermark waits, and the budget pauses
// fetching). A permanent one (ErrPermanent) goes to the failure policy at
// once. Process does not run again either way.
func (e *Engine) outboundFailed(t *task, err error) {
	e.failed.Add(1)
	if IsPermanent(err) {
		e.log.Warn("output failed for good", "topic", t.rec.Topic, "partition", t.rec.Partition,
			"offset", t.rec.Offset, "err", err)
		q := t.q
		if e.exhausted(t, err) {
			e.releaseKey(q)
		}
		return
	}
	t.transient++
	e.retried.Add(1)
	e.log.Debug("output failed; sending it again", "topic", t.rec.Topic, "partition", t.rec.Partition,
		"offset", t.rec.Offset, "sends", t.transient, "err", err)
	e.after(e.backoff(int(t.transient)), func() {
		t.resend = true
		e.requeue(t)
	})
}

// handlerFailed deals with a failed handler run: a retry after the
// backoff (the key stays held), or the failure policy once the record's
// tries are spent. It returns whether the key may move on.
func (e *Engine) handlerFailed(t *task, err error) bool {
	e.failed.Add(1)
	t.outErr.Store(&err)
	if int(t.attempt) > t.lane.maxRetries || IsPermanent(err) {
		return e.exhausted(t, err)
	}
	e.retried.Add(1)
	e.log.Debug("record failed; retrying", "topic", t.rec.Topic, "partition", t.rec.Partition,
		"offset", t.rec.Offset, "attempt", t.attempt, "err", err)
	e.after(e.backoff(int(t.attempt)), func() { e.requeue(t) })
	return false
}

// requeue puts t back into its key queue, in offset order, for its next
// run, and ends its hold on the queue.
func (e *Engine) requeue(t *task) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.dropSent(t)
		t.lane.abandon(t)
		return
	}
	t.q.insert(t)
	woke := e.unhold(t.q, true)
	e.mu.Unlock()
	if woke {
		e.cond.Signal()
	}
}

// exhausted applies the failure policy to a record whose tries are spent
// (or whose output failed for good). It returns whether the key may move
// on; the caller releases it.
func (e *Engine) exhausted(t *task, err error) bool {
	e.dropSent(t)
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
	if err := t.lastErr(); err != nil {
		errText = err.Error()
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
	d := &deadLetter{e: e, t: t, sink: sink}
	d.msg[0] = Message{Key: t.rec.Key, Value: t.rec.Value, Headers: hdrs, Topic: e.cfg.Failure.DeadLetterTopic, Ack: d}
	d.write()
}

// deadLetter is the Acker of a record's dead letter. A failed write is
// tried again, the same message, until it succeeds: the partition's
// watermark waits for it, never passes it.
type deadLetter struct {
	e     *Engine
	t     *task
	sink  Sink
	msg   [1]Message
	tries int
}

func (d *deadLetter) write() {
	if err := d.sink.Write(d.e.ctx, d.msg[:]); err != nil {
		d.Done(err)
	}
}

// Done implements Acker.
func (d *deadLetter) Done(err error) {
	e, t := d.e, d.t
	if err == nil {
		e.deadLettered.Add(1)
		t.lane.finish(t)
		return
	}
	e.failed.Add(1)
	d.tries++
	e.log.Warn("dead-letter write failed; partition halted until it succeeds",
		"topic", t.rec.Topic, "partition", t.rec.Partition, "offset", t.rec.Offset, "err", err)
	e.after(e.backoff(d.tries), func() {
		if e.isClosed() {
			t.lane.abandon(t)
			return
		}
		d.write()
	})
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

// stamp is o's timestamp: its own, else the inbound record's (event time
// carries through), else zero (the time of writing).
func (o *Output) stamp(rec *Record) time.Time {
	if !o.Timestamp.IsZero() {
		return o.Timestamp
	}
	return rec.Time
}
