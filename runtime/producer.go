package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
)

// producer batches messages per topic partition and sends each batch as a
// raw produce request (kafka-go's protocol package) on the partition's own
// connection to its leader (see leaderConn). It replaces kafka-go's Writer
// on the hot path: profiled on a passthrough, the Writer spent more CPU
// than the rest of the processor (a metadata lookup, a partition balance
// and a copy per message, then a second encoding of every message through
// interfaces at send time).
//
// A batch closes when the next record would pass BatchBytes (batch_size),
// at BatchSize records when that is set, or Linger after its first record.
// Each partition has one writer goroutine that sends its batches in the
// order they closed: one request in flight at a time, or up to MaxInFlight
// (at most 5) pipelined on the connection with the idempotent producer.
//
// One clock governs a record: its delivery deadline, the time it was
// handed to the sink plus AckTimeout. A batch is retried (with backoff,
// while the Transport's metadata refresh finds moved leaders) as long as
// its error is retryable, MaxAttempts (when set) is not spent and the
// deadline of its first record has not passed; no request of a batch is
// cut later than that deadline. Then the batch fails once, and with it
// every batch of the partition behind it, queued or in flight: nothing
// later may land before the failed records are written again. A failed
// batch's requests still in flight are waited for before the partition
// sends anything else.
type producer struct {
	cfg      KafkaProducerConfig
	log      *slog.Logger
	client   *kafka.Client
	acks     kafka.RequiredAcks
	codec    compress.Codec
	balancer kafka.Balancer

	// ctx ends when the flush at close is cut short: sends in flight are
	// abandoned and every batch left fails with closeErr.
	ctx      context.Context
	cancel   context.CancelFunc
	closeErr error
	onResult func(err error) // sink health: nil on success

	// idempotent is whether batches carry a producer id and sequences:
	// on with acks all unless disabled, off for good once the cluster
	// refuses it.
	idempotent atomic.Bool
	idMu       sync.Mutex // guards id: one InitProducerId at a time
	id         producerID // shared by the partitions until one resets

	// dialer opens the partition writers' leader connections (see
	// leaderConn); nil in tests that send through the client's
	// RoundTripper instead.
	dialer *kafka.Dialer
	// loseResponse, set by tests before the first write, makes the
	// leader connections lose the responses it says (one call per
	// response, in order per connection).
	loseResponse func() bool
	// peakInFlight is the most requests one partition had out.
	peakInFlight atomic.Int32

	mu       sync.Mutex // guards closing and the creation of writers
	parts    sync.Map   // topicPartition → *partWriter
	closing  bool
	wg       sync.WaitGroup
	topics   atomic.Pointer[map[string]*topicInfo] // copy on write
	topicsMu sync.Mutex
}

// producerID is an idempotent producer's identity.
type producerID struct {
	id    int64 // -1: none yet
	epoch int16
}

var noProducerID = producerID{id: -1, epoch: -1}

type topicPartition struct {
	topic     string
	partition int
}

// topicInfo caches a topic's partitions for topicTTL, and the writers of
// those partitions (by index in partitions) once looked up.
type topicInfo struct {
	partitions []int
	writers    []atomic.Pointer[partWriter]
	expires    time.Time
}

// topicTTL is how long the partitions of a topic are cached: new
// partitions are used about this soon after kafka-go's Transport sees them.
const topicTTL = time.Second

func newProducer(cfg KafkaProducerConfig, log *slog.Logger, transport kafka.RoundTripper, acks kafka.RequiredAcks,
	codec kafka.Compression, balancer kafka.Balancer, closeErr error, onResult func(error)) *producer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{
		cfg:      cfg,
		log:      log,
		client:   &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: transport},
		acks:     acks,
		codec:    codec.Codec(),
		balancer: balancer,
		ctx:      ctx,
		cancel:   cancel,
		closeErr: closeErr,
		onResult: onResult,
	}
	p.topics.Store(&map[string]*topicInfo{})
	p.id = noProducerID
	p.idempotent.Store(acks == kafka.RequireAll && !cfg.DisableIdempotence)
	return p
}

// maxIdempotentInFlight is the most requests in flight per partition with
// the idempotent producer: the broker remembers the last five batches of a
// producer per partition, so a retry further back could not be told from
// a gap (the Java client refuses more).
const maxIdempotentInFlight = 5

// errIdempotenceRefused marks an InitProducerId the cluster refused for
// good (e.g. CLUSTER_AUTHORIZATION_FAILED without IdempotentWrite).
var errIdempotenceRefused = errors.New("idempotent producer refused by the cluster")

// producerID returns the shared producer identity, asking the cluster for
// one the first time; fresh asks for a new one (a partition resetting its
// sequences). Past errIdempotenceRefused the producer is not idempotent
// any more.
func (p *producer) producerID(ctx context.Context, fresh bool) (producerID, error) {
	p.idMu.Lock()
	defer p.idMu.Unlock()
	if !fresh && p.id.id >= 0 {
		return p.id, nil
	}
	if !p.idempotent.Load() {
		return noProducerID, errIdempotenceRefused
	}
	res, err := p.client.InitProducerID(ctx, &kafka.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		if retryable(err) {
			return noProducerID, fmt.Errorf("init producer id: %w", err)
		}
		p.idempotent.Store(false)
		p.log.Warn("the cluster refuses the idempotent producer: writing without it, one request in flight per partition; a retried batch may then be written twice",
			"err", err)
		return noProducerID, fmt.Errorf("%w: %w", errIdempotenceRefused, err)
	}
	id := producerID{id: int64(res.Producer.ProducerID), epoch: int16(res.Producer.ProducerEpoch)}
	if !fresh {
		p.id = id
	}
	return id, nil
}

// errNotSent fails the records behind a batch that failed for good.
var errNotSent = errors.New("not sent")

// errMessageTooLarge fails a message that alone exceeds MaxRequestSize.
func errMessageTooLarge(size int, limit int64) error {
	return fmt.Errorf("message of %d bytes exceeds the batch limit of %d bytes (max_request_size): %w",
		size, limit, kafka.MessageSizeTooLarge)
}

// partitions returns the partitions of topic, from the cache or the
// Transport's metadata.
func (p *producer) partitions(ctx context.Context, topic string) (*topicInfo, error) {
	now := time.Now()
	if ti := (*p.topics.Load())[topic]; ti != nil && now.Before(ti.expires) {
		return ti, nil
	}
	ctx, cancel := context.WithTimeout(ctx, min(p.cfg.RequestTimeout, 10*time.Second))
	defer cancel()
	res, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, t := range res.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, t.Error
		}
		for _, pt := range t.Partitions {
			ids = append(ids, pt.ID)
		}
	}
	if len(ids) == 0 {
		return nil, kafka.UnknownTopicOrPartition
	}
	// Sorted, so that a key maps to the same partition as with the Java
	// client (the balancers index into this list).
	slices.Sort(ids)
	ti := &topicInfo{partitions: ids, writers: make([]atomic.Pointer[partWriter], len(ids)), expires: now.Add(topicTTL)}
	p.topicsMu.Lock()
	old := *p.topics.Load()
	next := make(map[string]*topicInfo, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[topic] = ti
	p.topics.Store(&next)
	p.topicsMu.Unlock()
	return ti, nil
}

// writer returns the partition's writer, starting it if needed; nil once
// the producer is closing.
func (p *producer) writer(tp topicPartition) *partWriter {
	if w, ok := p.parts.Load(tp); ok {
		return w.(*partWriter)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.parts.Load(tp); ok {
		return w.(*partWriter)
	}
	if p.closing {
		return nil
	}
	w := newPartWriter(p, tp)
	p.parts.Store(tp, w)
	p.wg.Add(1)
	go w.run()
	return w
}

// add queues m for topic (whose partitions ti holds) with its token at
// time ts (ms), due by deadline. It returns the error that keeps m from
// being queued.
func (p *producer) add(topic string, ti *topicInfo, m *Message, ts int64, deadline time.Time, tok *ackToken) error {
	i := 0
	if n := len(ti.partitions); n > 1 {
		part := p.balancer.Balance(kafka.Message{Key: m.Key}, ti.partitions...)
		// The balancers return one of the ids given; find its index.
		i = max(0, slices.Index(ti.partitions, part))
	}
	if recordSizeMax(m)+batchHeaderLen > int(p.cfg.MaxRequestSize) {
		if size := recordSizeV2(m, 0, 0) + batchHeaderLen; int64(size) > p.cfg.MaxRequestSize {
			return errMessageTooLarge(size, p.cfg.MaxRequestSize)
		}
	}
	w := ti.writers[i].Load()
	if w == nil {
		w = p.writer(topicPartition{topic, ti.partitions[i]})
		if w == nil {
			return ErrClosed
		}
		ti.writers[i].Store(w)
	}
	if !w.add(m, ts, deadline, tok) {
		return ErrClosed
	}
	return nil
}

// close flushes every partition within ctx; past it, the sends in flight
// are abandoned and the batches left fail with closeErr.
func (p *producer) close(ctx context.Context) error {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.parts.Range(func(_, v any) bool {
		w := v.(*partWriter)
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		w.signal()
		return true
	})
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		p.cancel()
		<-done
	}
	p.cancel()
	return err
}

// partWriter batches and sends the messages of one topic partition.
type partWriter struct {
	p    *producer
	tp   topicPartition
	wake chan struct{} // capacity 1: a batch closed or opened, or closing

	mu      sync.Mutex
	cur     *recordBatch
	opened  time.Time // when cur got its first record
	full    []*recordBatch
	closing bool
	// blocked: the partition cannot take another request now (as many
	// batches out as it may have, or a failure being worked through).
	// The run goroutine sets it; add lets cur grow past BatchBytes
	// meanwhile (see add).
	blocked atomic.Bool

	// The rest belongs to the run goroutine.

	// sent holds the batches sent at least once and not finished, in
	// order: in flight, or waiting to be sent again.
	sent []*recordBatch
	// inflight counts the requests out, those of failed batches included.
	inflight int
	results  chan sendResult // capacity MaxInFlight
	// stalled: a send failed. No new batch goes out until the requests
	// out have returned and the batches in sent are through, head first.
	stalled  bool
	retryAt  time.Time
	lc       *leaderConn // nil until the next send connects
	lastSend time.Time   // of the last request

	// With the idempotent producer: the partition's producer identity
	// (noProducerID until known), the next base sequence, and whether the
	// sequences must start again under a new identity before anything
	// else is sent (the broker lost or refused them).
	id        producerID
	nextSeq   int32
	resetSeq  bool
	warmUntil time.Time // see maxInFlight

	// acks and fin acknowledge a sent batch's records together (one lane
	// lock per run of a partition).
	acks []Acker
	fin  Acks
}

// sendResult is the outcome of one request of b.
type sendResult struct {
	b   *recordBatch
	err error
}

func newPartWriter(p *producer, tp topicPartition) *partWriter {
	return &partWriter{p: p, tp: tp, wake: make(chan struct{}, 1), id: noProducerID,
		results: make(chan sendResult, max(1, p.cfg.MaxInFlight))}
}

func (w *partWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// add queues m, due by deadline; false once the writer is closing.
func (w *partWriter) add(m *Message, ts int64, deadline time.Time, tok *ackToken) bool {
	cfg := &w.p.cfg
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return false
	}
	wake := false
	// A batch closes when the next record would pass BatchBytes
	// (batch_size), so that a partition that can send sends batches of
	// that size. While it cannot (its requests in flight are at their
	// limit: one without the idempotent producer), the batch keeps growing
	// up to MaxRequestSize instead: a queue of batch_size batches would
	// leave one per round trip, in as many requests, where one request
	// carries them all as soon as the partition can send again. No record
	// waits longer than it would behind queued batches, and a loaded
	// partition needs a fraction of the requests. The exact size is only
	// worked out near the limit.
	limit := cfg.BatchBytes
	if w.blocked.Load() {
		limit = cfg.MaxRequestSize
	}
	if w.cur != nil && int64(w.cur.size()+recordSizeMax(m)) > limit &&
		int64(w.cur.size()+recordSizeV2(m, w.cur.n, ts-w.cur.first)) > limit {
		w.full = append(w.full, w.cur)
		w.cur = nil
		wake = true
	}
	if w.cur == nil {
		w.cur = newRecordBatchFor(limit)
		w.cur.deadline = deadline
		w.opened = time.Now()
		wake = true // the loop arms the linger timer
	} else if deadline.Before(w.cur.deadline) {
		w.cur.deadline = deadline
	}
	// Past its size class, a batch moves to a large buffer at once (see
	// regrow).
	if need := len(w.cur.buf) + recordSizeMax(m); need > cap(w.cur.buf) && limit > smallBatchCap {
		w.cur.regrow(limit, need)
	}
	w.cur.add(m, ts, tok)
	// Full: no record fits any more (a record larger than the limit goes
	// alone), or the optional record cap is reached.
	if int64(w.cur.size()) >= limit || (cfg.BatchSize > 0 && int(w.cur.n) >= cfg.BatchSize) {
		w.full = append(w.full, w.cur)
		w.cur = nil
		wake = true
	}
	w.mu.Unlock()
	if wake {
		w.signal()
	}
	return true
}

// next returns the next batch to send, or how long until one is due (-1:
// none is).
func (w *partWriter) next(now time.Time) (b *recordBatch, wait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.full) > 0 {
		b = w.full[0]
		w.full[0] = nil
		w.full = w.full[1:]
		return b, 0
	}
	if w.cur != nil {
		// A batch that reached batch_size (it grew while the partition
		// could not send) goes at once; a smaller one after Linger.
		if left := w.p.cfg.Linger - now.Sub(w.opened); left > 0 && !w.closing && int64(w.cur.size()) < w.p.cfg.BatchBytes {
			return nil, left
		}
		b, w.cur = w.cur, nil
		return b, 0
	}
	return nil, -1
}

// queued reports whether a batch waits to be sent for the first time.
func (w *partWriter) queued() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.full) > 0 || w.cur != nil
}

// idle reports whether the writer is closing with nothing left.
func (w *partWriter) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closing && w.cur == nil && len(w.full) == 0 && len(w.sent) == 0 && w.inflight == 0
}

func (w *partWriter) run() {
	defer w.p.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if w.p.ctx.Err() != nil {
			w.abandon()
			w.dropConn()
			return
		}
		now := time.Now()
		w.expire(now)
		wait := w.step(now)
		if wait == 0 {
			continue
		}
		if w.idle() {
			w.dropConn()
			return
		}
		if d, ok := w.nextDeadline(); ok && (wait < 0 || d.Sub(now) < wait) {
			wait = max(d.Sub(now), time.Millisecond)
		}
		if w.lc != nil && w.inflight == 0 {
			// An idle connection is closed before the broker closes it
			// (connections.max.idle.ms, 10 minutes by default), which
			// would fail the next request.
			left := transportIdleTimeout - now.Sub(w.lastSend)
			if left <= 0 {
				w.dropConn()
			} else if wait < 0 || left < wait {
				wait = left
			}
		}
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case r := <-w.results:
			w.handle(r, time.Now())
		case <-w.wake:
		case <-tc:
		case <-w.p.ctx.Done():
		}
		if tc != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// maxInFlight is how many requests the partition may have out at now:
// one unless the broker checks our sequences there. It does once it holds
// state for our producer id in the partition, which it has from an
// acknowledged batch on: until then it takes any first sequence, so a
// request overtaking the first one on another connection (kafka-go's
// Transport has one request per connection) would be written before it.
// The broker forgets an idle producer (producer.id.expiration.ms, a day
// by default), so a partition idle for warmFor sends alone again.
func (w *partWriter) maxInFlight(now time.Time) int {
	if w.id.id >= 0 && w.p.idempotent.Load() && now.Before(w.warmUntil) {
		return min(w.p.cfg.MaxInFlight, maxIdempotentInFlight)
	}
	return 1
}

// warmFor is how long after its last acknowledged batch a partition
// keeps several requests in flight (see maxInFlight).
const warmFor = time.Minute

// step sends what may be sent now. It returns 0 to be called again at
// once, or how long until it may have something to send (-1: only an
// event helps).
func (w *partWriter) step(now time.Time) time.Duration {
	w.blocked.Store(w.stalled || len(w.sent) >= w.maxInFlight(now))
	if w.stalled {
		if w.inflight > 0 {
			return -1
		}
		if left := w.retryAt.Sub(now); left > 0 && (len(w.sent) > 0 || w.resetSeq) {
			return left
		}
		if w.resetSeq && !w.resequence(now) {
			return 0 // retryAt moved
		}
		if len(w.sent) == 0 {
			w.stalled = false
			return 0
		}
		// Head first, one at a time, until the failed ones are through.
		w.send(w.sent[0], now)
		return -1
	}
	// Batches sent and not finished, not only requests out: a batch
	// waiting to be sent again holds its place, so that the oldest is
	// always among the last five the broker remembers.
	if len(w.sent) >= w.maxInFlight(now) {
		return -1
	}
	if w.id.id < 0 && w.p.idempotent.Load() && w.queued() {
		// The first batch waits for the producer's identity.
		if !w.identify(now) {
			return 0
		}
	}
	b, wait := w.next(now)
	if b == nil {
		return wait
	}
	if err := w.seal(b); err != nil {
		w.failFrom(b, w.sendErr(err, true))
		return 0
	}
	w.sent = append(w.sent, b)
	w.send(b, now)
	return 0
}

// seal encodes b's header for sending, with the next sequence when
// idempotent.
func (w *partWriter) seal(b *recordBatch) error {
	if w.id.id < 0 {
		_, err := b.seal(w.p.codec, &b.zbuf)
		return err
	}
	b.seq = w.nextSeq
	w.nextSeq += b.n // wraps as the protocol's sequences do
	_, err := b.sealAs(w.p.codec, &b.zbuf, w.id.id, w.id.epoch, b.seq)
	return err
}

// identify gets the producer's shared identity for the partition's first
// batch. False when there is none yet: the head batch waits (or fails at
// its deadline) and the call comes again after the backoff.
func (w *partWriter) identify(now time.Time) bool {
	ctx, cancel := w.requestContext(now, w.headDeadline(now))
	id, err := w.p.producerID(ctx, false)
	cancel()
	if err == nil {
		w.id, w.nextSeq, w.warmUntil = id, 0, time.Time{}
		return true
	}
	if errors.Is(err, errIdempotenceRefused) {
		return true // on without sequences
	}
	w.p.onResult(&OutboundError{Client: KafkaProducer, Err: err})
	w.p.log.Debug("init producer id failed; retrying", "err", err)
	w.idWait(now)
	return false
}

// idWait waits out a backoff before the next InitProducerId, failing the
// head batch once its deadline passes (expire does).
func (w *partWriter) idWait(now time.Time) {
	wait := min(producerBackoffMin, max(w.headDeadline(now).Sub(now), 0))
	t := time.NewTimer(wait)
	select {
	case <-t.C:
	case <-w.p.ctx.Done():
		t.Stop()
	}
}

// headDeadline is the delivery deadline of the partition's next batch.
func (w *partWriter) headDeadline(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.full) > 0 {
		return w.full[0].deadline
	}
	if w.cur != nil {
		return w.cur.deadline
	}
	return now.Add(w.p.cfg.RequestTimeout)
}

// requestContext bounds one request by the request timeout and deadline.
func (w *partWriter) requestContext(now, deadline time.Time) (context.Context, context.CancelFunc) {
	if d := now.Add(w.p.cfg.RequestTimeout); d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(w.p.ctx, deadline)
}

// resequence gives the partition a new producer identity and renumbers
// the batches waiting in sent from sequence 0, in order: the broker lost
// our sequences (UNKNOWN_PRODUCER_ID, a gap at the head) or a batch with
// a sequence failed for good. Nothing is in flight. False when no new
// identity could be had yet (retryAt moved).
func (w *partWriter) resequence(now time.Time) bool {
	deadline := now.Add(w.p.cfg.RequestTimeout)
	if len(w.sent) > 0 {
		deadline = w.sent[0].deadline
	}
	ctx, cancel := w.requestContext(now, deadline)
	id, err := w.p.producerID(ctx, true)
	cancel()
	switch {
	case err == nil:
		w.id = id
	case errors.Is(err, errIdempotenceRefused):
		w.id = noProducerID
	default:
		w.p.onResult(&OutboundError{Client: KafkaProducer, Err: err})
		w.retryAt = now.Add(producerBackoffMin)
		if len(w.sent) > 0 {
			w.sent[0].lastErr = err
		}
		return false
	}
	w.resetSeq = false
	w.nextSeq, w.warmUntil = 0, time.Time{}
	for _, b := range w.sent {
		if w.id.id < 0 {
			b.stamp(-1, -1, -1)
			continue
		}
		b.seq = w.nextSeq
		w.nextSeq += b.n
		b.stamp(w.id.id, w.id.epoch, b.seq)
	}
	w.p.log.Info("partition sequences restarted under a new producer id", "topic", w.tp.topic,
		"partition", w.tp.partition, "producer_id", w.id.id, "batches", len(w.sent))
	return true
}

// send starts one request of b, cut at b's delivery deadline at the
// latest; its result comes back on w.results.
func (w *partWriter) send(b *recordBatch, now time.Time) {
	b.attempts++
	b.inFlight, b.retry = true, false
	b.alone = w.inflight == 0
	w.inflight++
	w.lastSend = now
	if n := int32(w.inflight); n > w.p.peakInFlight.Load() {
		w.p.peakInFlight.Store(n) // racy max: a statistic
	}
	if w.p.dialer != nil {
		deadline := now.Add(w.p.cfg.RequestTimeout)
		if b.deadline.Before(deadline) {
			deadline = b.deadline
		}
		if err := w.sendOnConn(b, deadline); err != nil {
			w.results <- sendResult{b, err}
		}
		return
	}
	// Without a dialer (tests), through the client's RoundTripper.
	ctx, cancel := w.requestContext(now, b.deadline)
	go func() {
		err := w.produce(ctx, b.raw)
		cancel()
		w.results <- sendResult{b, err}
	}()
}

// produce sends raw once and returns the partition's error.
func (w *partWriter) produce(ctx context.Context, raw []byte) error {
	p := w.p
	res, err := p.client.RawProduce(ctx, &kafka.RawProduceRequest{
		Topic:        w.tp.topic,
		Partition:    w.tp.partition,
		RequiredAcks: p.acks,
		RawRecords:   protocol.RawRecordSet{Reader: bytes.NewReader(raw)},
	})
	if err == nil && res != nil {
		err = res.Error
		if err == nil && len(res.RecordErrors) > 0 {
			for _, e := range res.RecordErrors {
				err = fmt.Errorf("record rejected: %w: %w", kafka.InvalidRecord, e)
				break
			}
		}
	}
	return err
}

// handle takes the result of one request.
func (w *partWriter) handle(r sendResult, now time.Time) {
	b, err := r.b, r.err
	w.inflight--
	b.inFlight = false
	if b.failed {
		// Failed while in flight; its records were told then.
		b.free()
		return
	}
	if err == nil || errors.Is(err, kafka.DuplicateSequenceNumber) {
		// A duplicate is a retry of a batch the broker already has.
		if w.id.id >= 0 {
			w.warmUntil = now.Add(warmFor)
		}
		w.remove(b)
		w.p.onResult(nil)
		w.finish(b, nil)
		return
	}
	if w.p.ctx.Err() != nil {
		return // abandon fails it
	}
	b.lastErr = err
	if !keepsConn(err) {
		w.dropConn()
	}
	cfg := &w.p.cfg
	switch {
	case tooLarge(err) && b.n > 1:
		// The broker's limit (max.message.bytes) is below this batch:
		// send it again as two, in order, at once.
		halves, serr := w.split(b)
		if serr != nil {
			w.failFrom(b, w.sendErr(fmt.Errorf("%w (split: %w)", err, serr), true))
			return
		}
		i := slices.Index(w.sent, b)
		w.sent = slices.Replace(w.sent, i, i+1, halves[0], halves[1])
		if !w.stalled {
			w.stalled, w.retryAt = true, now
		}
		w.p.log.Debug("batch too large for the broker; split", "topic", w.tp.topic,
			"partition", w.tp.partition, "records", b.n, "bytes", len(b.raw), "err", err)
		b.free()
	case !retryable(err):
		w.failFrom(b, w.sendErr(err, true))
	case !now.Before(b.deadline):
		w.failFrom(b, w.timeoutErr(b))
	case cfg.MaxAttempts > 0 && b.attempts >= cfg.MaxAttempts:
		w.failFrom(b, w.sendErr(err, false))
	default:
		overtaken := false
		if w.id.id >= 0 && sequenceLost(err) {
			if !errors.Is(err, kafka.OutOfOrderSequenceNumber) || b.alone && w.sent[0] == b {
				// The broker forgot or fenced us, or refused the head
				// batch sent alone, after every earlier one was
				// acknowledged, as a gap: start the sequences again
				// once nothing is in flight.
				w.resetSeq = true
			} else {
				// An earlier batch failed, or this request overtook it
				// on another connection: sent again in turn.
				overtaken = true
			}
		}
		if !overtaken {
			w.p.onResult(w.sendErr(err, false))
		}
		w.p.log.Debug("produce failed; retrying", "topic", w.tp.topic, "partition", w.tp.partition,
			"attempt", b.attempts, "err", err)
		b.retry = true
		if !w.stalled {
			w.stalled, w.retryAt = true, now
		}
		if !overtaken {
			// Only a real failure backs off; an overtaken batch
			// goes again as soon as those before it are through.
			w.retryAt = later(w.retryAt, now.Add(retryBackoff(b.attempts)))
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sequenceLost reports whether the broker refused a batch for its
// producer id, epoch or sequence.
func sequenceLost(err error) bool {
	return errors.Is(err, kafka.OutOfOrderSequenceNumber) || errors.Is(err, kafka.UnknownProducerId) ||
		errors.Is(err, kafka.InvalidProducerEpoch) || errors.Is(err, kafka.InvalidProducerIDMapping) ||
		errors.Is(err, kafka.ProducerFenced)
}

// tooLarge reports whether the broker refused a batch for its size.
func tooLarge(err error) bool {
	return errors.Is(err, kafka.MessageSizeTooLarge) || errors.Is(err, kafka.RecordListTooLarge)
}

// split returns two sealed batches holding b's records, in order, the
// first half in the first; b keeps its records (the caller frees it).
func (w *partWriter) split(b *recordBatch) ([2]*recordBatch, error) {
	halves := [2]*recordBatch{newRecordBatch(), newRecordBatch()}
	i, half := 0, int(b.n)/2
	err := eachRecord(b.buf[recordsStart:], func(m *Message, tsDelta int64) {
		h := halves[0]
		if i >= half {
			h = halves[1]
		}
		h.add(m, b.first+tsDelta, b.toks[i])
		i++
	})
	if err == nil && i != int(b.n) {
		err = errBadRecord
	}
	seq := b.seq
	for _, h := range halves {
		if err == nil {
			// The halves take b's sequences: what follows is unchanged.
			h.seq = seq
			seq += h.n
			if w.id.id >= 0 {
				_, err = h.sealAs(w.p.codec, &h.zbuf, w.id.id, w.id.epoch, h.seq)
			} else {
				_, err = h.seal(w.p.codec, &h.zbuf)
			}
		}
	}
	if err != nil {
		for _, h := range halves {
			clear(h.toks) // b keeps them
			h.free()
		}
		return halves, err
	}
	for _, h := range halves {
		h.deadline, h.retry, h.lastErr = b.deadline, true, b.lastErr
	}
	clear(b.toks)
	b.toks = b.toks[:0]
	return halves, nil
}

// retryBackoff is the wait before the attempt after the given one.
func retryBackoff(attempt int) time.Duration {
	d := producerBackoffMin
	for i := 1; i < attempt && d < producerBackoffMax; i++ {
		d *= 2
	}
	return min(d, producerBackoffMax)
}

func (w *partWriter) sendErr(err error, permanent bool) error {
	if permanent {
		err = Permanent(err)
	}
	return &OutboundError{Client: KafkaProducer,
		Err: fmt.Errorf("produce %s/%d: %w", w.tp.topic, w.tp.partition, err), Permanent: permanent}
}

// timeoutErr is the error of b's records once their delivery deadline
// passed.
func (w *partWriter) timeoutErr(b *recordBatch) error {
	err := fmt.Errorf("produce %s/%d: %w (%s)", w.tp.topic, w.tp.partition, ErrAckTimeout, w.p.cfg.AckTimeout)
	if b.lastErr != nil {
		err = fmt.Errorf("%w; last error: %w", err, b.lastErr)
	}
	return &OutboundError{Client: KafkaProducer, Err: err}
}

// remove drops b from sent.
func (w *partWriter) remove(b *recordBatch) {
	if i := slices.Index(w.sent, b); i >= 0 {
		w.sent = slices.Delete(w.sent, i, i+1)
	}
}

// failFrom fails b and every batch of the partition behind it, sent or
// queued, with err (b nil: every queued batch), those behind b with a
// transient error when err is permanent. A request still out for
// one of them is waited for before anything else is sent.
func (w *partWriter) failFrom(b *recordBatch, err error) {
	var failed []*recordBatch
	if b != nil {
		if i := slices.Index(w.sent, b); i >= 0 {
			failed = append(failed, w.sent[i:]...)
			clear(w.sent[i:])
			w.sent = w.sent[:i]
		} else {
			failed = append(failed, b) // not sent yet
		}
	}
	for _, f := range failed {
		if f.attempts > 0 && w.id.id >= 0 {
			// Their sequences are spent, written or not: what comes
			// next starts again under a new identity.
			w.resetSeq = true
		}
	}
	w.mu.Lock()
	failed = append(failed, w.full...)
	clear(w.full)
	w.full = w.full[:0]
	if w.cur != nil {
		failed = append(failed, w.cur)
		w.cur = nil
	}
	w.mu.Unlock()
	if !errors.Is(err, ErrClosed) {
		w.p.onResult(err)
	}
	// The batches behind fail with err, unless it is about the first
	// batch's own records (permanent): theirs is only that they were
	// not sent, and sending them again may succeed.
	behind := err
	if errors.Is(err, ErrPermanent) || IsPermanent(err) {
		behind = &OutboundError{Client: KafkaProducer, Err: fmt.Errorf("produce %s/%d: %w: an earlier batch of the partition failed (%v)",
			w.tp.topic, w.tp.partition, errNotSent, err)}
	}
	n := 0
	for i, f := range failed {
		n += int(f.n)
		if i == 0 && b != nil {
			w.fail(f, err)
		} else {
			w.fail(f, behind)
		}
	}
	w.stalled = true
	if !errors.Is(err, ErrClosed) {
		w.p.log.Warn("batches failed", "topic", w.tp.topic, "partition", w.tp.partition, "records", n, "err", err)
	}
}

// fail finishes b's records with err; a batch with a request out is freed
// when the request returns.
func (w *partWriter) fail(b *recordBatch, err error) {
	for _, t := range b.toks {
		t.finish(err)
	}
	if b.inFlight {
		b.failed = true
		return
	}
	b.free()
}

// expire fails the first batch whose delivery deadline passed while it
// waited (a request out is cut at the deadline and judged when it
// returns), with everything behind it.
func (w *partWriter) expire(now time.Time) {
	for _, b := range w.sent {
		if !b.inFlight && !now.Before(b.deadline) {
			w.failFrom(b, w.timeoutErr(b))
			return
		}
	}
	w.mu.Lock()
	var head *recordBatch
	if len(w.full) > 0 {
		head = w.full[0]
	} else if w.cur != nil {
		head = w.cur
	}
	expired := head != nil && !now.Before(head.deadline)
	w.mu.Unlock()
	if expired {
		w.failFrom(nil, w.timeoutErr(head))
	}
}

// nextDeadline is the earliest deadline of a batch that is not in flight.
func (w *partWriter) nextDeadline() (time.Time, bool) {
	var d time.Time
	ok := false
	for _, b := range w.sent {
		if !b.inFlight && (!ok || b.deadline.Before(d)) {
			d, ok = b.deadline, true
		}
	}
	w.mu.Lock()
	if len(w.full) > 0 {
		if dl := w.full[0].deadline; !ok || dl.Before(d) {
			d, ok = dl, true
		}
	} else if w.cur != nil {
		if dl := w.cur.deadline; !ok || dl.Before(d) {
			d, ok = dl, true
		}
	}
	w.mu.Unlock()
	return d, ok
}

// abandon fails every batch left once the flush was cut short, and waits
// for the requests out (cancelled with the producer's context).
func (w *partWriter) abandon() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	for _, b := range w.sent {
		w.fail(b, w.p.closeErr)
	}
	clear(w.sent)
	w.sent = w.sent[:0]
	w.failFrom(nil, w.p.closeErr)
	w.dropConn()
	for w.inflight > 0 {
		r := <-w.results
		w.inflight--
		r.b.inFlight = false
		if r.b.failed {
			r.b.free()
		}
	}
}

func (w *partWriter) finish(b *recordBatch, err error) {
	if err != nil {
		w.fail(b, err)
		return
	}
	acks := w.acks[:0]
	for _, t := range b.toks {
		if a, ok := t.claim(); ok {
			acks = append(acks, a)
		}
	}
	b.free()
	w.fin.Succeed(acks)
	clear(acks)
	w.acks = acks[:0]
}

// regrow moves b's records into a buffer of the large size class (or
// one with room for need bytes), in one copy: while its partition cannot
// send, a batch opened in the small class grows towards MaxRequestSize,
// and appends would grow its buffer again and again, each a copy (and
// the token slice's with write barriers) under the writer's lock.
func (b *recordBatch) regrow(limit int64, need int) {
	nb := newRecordBatchFor(limit)
	big := nb.buf[:0]
	if cap(big) < need {
		big = make([]byte, 0, max(need, int(limit)+sizeLen))
	}
	big = append(big, b.buf...)
	nb.buf, b.buf = b.buf[:recordsStart], big
	nb.free()
	if b.n > 0 {
		// Room for the tokens of as many records again as fit.
		per := max(1, (len(b.buf)-recordsStart)/int(b.n))
		b.toks = slices.Grow(b.toks, max(0, cap(b.buf)/per-len(b.toks)))
	}
}
