package runtime

import (
	"fmt"
	"strconv"
	"time"
)

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
