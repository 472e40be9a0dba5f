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

// producer batches messages per topic partition and sends each batch with
// kafka-go's Client.RawProduce, one batch in flight per partition (so
// batches of a partition land in the order they were closed, retries
// included). It replaces kafka-go's Writer on the hot path: profiled on a
// passthrough, the Writer spent more CPU than the rest of the processor
// (a metadata lookup, a partition balance and a copy per message, then a
// second encoding of every message through interfaces at send time).
//
// A batch closes when the next record would pass BatchBytes (batch_size),
// at BatchSize records when that is set, or Linger after its first record; it is then sent up to MaxAttempts times with backoff
// while the error is retryable. Its records' tokens are finished with the
// outcome.
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

	mu       sync.Mutex // guards closing and the creation of writers
	parts    sync.Map   // topicPartition → *partWriter
	closing  bool
	wg       sync.WaitGroup
	topics   atomic.Pointer[map[string]*topicInfo] // copy on write
	topicsMu sync.Mutex
}

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
	return p
}

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
	w := &partWriter{p: p, tp: tp, wake: make(chan struct{}, 1)}
	p.parts.Store(tp, w)
	p.wg.Add(1)
	go w.run()
	return w
}

// add queues m for topic (whose partitions ti holds) with its token at
// time ts (ms). It returns the error that keeps m from being queued.
func (p *producer) add(topic string, ti *topicInfo, m *Message, ts int64, tok *ackToken) error {
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
	if !w.add(m, ts, tok) {
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

	// acks and fin, used by the run goroutine only, acknowledge a sent
	// batch's records together (one lane lock per run of a partition).
	acks []Acker
	fin  finisher
}

func (w *partWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// add queues m; false once the writer is closing.
func (w *partWriter) add(m *Message, ts int64, tok *ackToken) bool {
	cfg := &w.p.cfg
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return false
	}
	wake := false
	// A batch closes when the next record would pass BatchBytes; the
	// exact size is only worked out near the limit.
	if w.cur != nil && int64(w.cur.size()+recordSizeMax(m)) > cfg.BatchBytes &&
		int64(w.cur.size()+recordSizeV2(m, w.cur.n, ts-w.cur.first)) > cfg.BatchBytes {
		w.full = append(w.full, w.cur)
		w.cur = nil
		wake = true
	}
	if w.cur == nil {
		w.cur = newRecordBatch()
		w.opened = time.Now()
		wake = true // the loop arms the linger timer
	}
	w.cur.add(m, ts, tok)
	// Full: no record fits any more (a record larger than BatchBytes
	// goes alone), or the optional record cap is reached.
	if int64(w.cur.size()) >= cfg.BatchBytes || (cfg.BatchSize > 0 && int(w.cur.n) >= cfg.BatchSize) {
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

// next returns the next batch to send, or how long to wait for one. done
// is true once closing and nothing is left.
func (w *partWriter) next() (b *recordBatch, wait time.Duration, done bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.full) > 0 {
		b = w.full[0]
		w.full[0] = nil
		w.full = w.full[1:]
		return b, 0, false
	}
	if w.cur != nil {
		if left := w.p.cfg.Linger - time.Since(w.opened); left > 0 && !w.closing {
			return nil, left, false
		}
		b, w.cur = w.cur, nil
		return b, 0, false
	}
	return nil, -1, w.closing
}

func (w *partWriter) run() {
	defer w.p.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var scratch []byte
	for {
		b, wait, done := w.next()
		if done {
			return
		}
		if b != nil {
			w.send(b, &scratch)
			continue
		}
		if wait < 0 {
			select {
			case <-w.wake:
			case <-w.p.ctx.Done():
				w.failAll()
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-w.wake:
			timer.Stop()
		case <-w.p.ctx.Done():
			timer.Stop()
			w.failAll()
			return
		}
	}
}

// failAll fails every batch left once the flush was cut short.
func (w *partWriter) failAll() {
	w.mu.Lock()
	left := w.full
	w.full = nil
	if w.cur != nil {
		left = append(left, w.cur)
		w.cur = nil
	}
	w.closing = true
	w.mu.Unlock()
	for _, b := range left {
		w.finish(b, w.p.closeErr)
	}
}

// send writes b, retrying retryable errors up to MaxAttempts, and
// finishes its tokens.
func (w *partWriter) send(b *recordBatch, scratch *[]byte) {
	p := w.p
	raw, err := b.seal(p.codec, scratch)
	if err == nil {
		err = w.produce(raw)
	}
	if err != nil && p.ctx.Err() != nil {
		err = p.closeErr
	} else if err != nil {
		err = &OutboundError{
			Client:    KafkaProducer,
			Err:       fmt.Errorf("produce %s/%d: %w", w.tp.topic, w.tp.partition, err),
			Permanent: !retryable(err),
		}
	}
	if !errors.Is(err, ErrClosed) {
		p.onResult(err)
	}
	w.finish(b, err)
}

func (w *partWriter) produce(raw []byte) error {
	p := w.p
	backoff := producerBackoffMin
	var err error
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.RequestTimeout)
		var res *kafka.ProduceResponse
		res, err = p.client.RawProduce(ctx, &kafka.RawProduceRequest{
			Topic:        w.tp.topic,
			Partition:    w.tp.partition,
			RequiredAcks: p.acks,
			RawRecords:   protocol.RawRecordSet{Reader: bytes.NewReader(raw)},
		})
		cancel()
		if err == nil && res != nil {
			err = res.Error
			if err == nil && len(res.RecordErrors) > 0 {
				for _, e := range res.RecordErrors {
					err = fmt.Errorf("record rejected: %w: %w", kafka.InvalidRecord, e)
					break
				}
			}
		}
		if err == nil || attempt >= p.cfg.MaxAttempts || !retryable(err) || p.ctx.Err() != nil {
			return err
		}
		p.log.Debug("produce failed; retrying", "topic", w.tp.topic, "partition", w.tp.partition,
			"attempt", attempt, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			return errors.Join(err, p.ctx.Err())
		}
		backoff = min(2*backoff, producerBackoffMax)
	}
}

func (w *partWriter) finish(b *recordBatch, err error) {
	if err != nil {
		for _, t := range b.toks {
			t.finish(err)
		}
		b.free()
		return
	}
	acks := w.acks[:0]
	for _, t := range b.toks {
		if a, ok := t.claim(); ok {
			acks = append(acks, a)
		}
	}
	b.free()
	ackAll(acks, &w.fin)
	clear(acks)
	w.acks = acks[:0]
}
