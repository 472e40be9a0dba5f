package runtime

import "sync/atomic"

// Acks acknowledges many written messages at once: the fast path for a
// Sink that learns of several messages' durability together (a produce
// response, an fsync, a flushed buffer). Calling Succeed with their Ackers
// is the same as calling Done(nil) on each, but the engine's own Ackers
// are finished in runs (one partition lock, one budget release per run
// rather than per message).
//
// One goroutine owns an Acks (typically the sink's flusher or response
// reader), or a lock guards it: it is not safe for concurrent use. Succeed
// may be called from any goroutine that owns it, including inside the
// sink's Write. The zero value is ready; it keeps its buffers between
// calls but no Acker.
type Acks struct {
	fin finisher
}

// Succeed calls Done(nil) on every Acker of acks (nil ones are skipped).
// The caller may reuse acks once it returns.
func (a *Acks) Succeed(acks []Acker) {
	ackAll(acks, &a.fin)
}

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
