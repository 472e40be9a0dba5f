package runtime

import (
	"context"
	"hash/maphash"
	"log/slog"
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
	return newEngine(cfg.Defaults(), h, sinks, order, deadLetters)
}

// newEngine is NewEngine for a cfg with its defaults applied (Run and
// RunInMemory apply them once, first).
func newEngine(cfg Config, h Handler, sinks map[string]Sink, order []string, deadLetters map[string]Sink) *Engine {
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
