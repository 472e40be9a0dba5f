package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

const (
	// producerBackoffMin/Max bound the backoff between attempts of one
	// batch, doubling from the minimum (retry_backoff_ms is 100ms in
	// kafka-python).
	producerBackoffMin = 100 * time.Millisecond
	producerBackoffMax = time.Second
	// producerReadyWindow is how long a failed write keeps Ready failing
	// when no write has succeeded since (the file writer's too).
	producerReadyWindow = 30 * time.Second
)

// ErrAckTimeout is wrapped in the error of a message whose delivery
// deadline (the time it was handed to the sink plus AckTimeout) passed
// before the broker acknowledged it. The producer retried it until then;
// when its last request was cut at the deadline it may still have been
// written (a duplicate once the engine sends it again).
var ErrAckTimeout = errors.New("no ack within the ack timeout")

// errNoTopic fails a message that names no topic on a sink without one.
var errNoTopic = errors.New("message has no topic and the producer has none")

// KafkaSink is the Kafka outbound client: batches per partition, encoded
// as they come and sent with kafka-go's Client.RawProduce (see producer).
// Each message's Acker is called once: nil when the broker acknowledged the
// batch holding it (with Acks 0 that is as soon as it was sent), or an
// *OutboundError (write failed, delivery deadline passed, sink closed).
//
// A message's delivery deadline is the time Write got it plus AckTimeout;
// the producer alone keeps it (see producer): there is no second timer.
type KafkaSink struct {
	cfg       KafkaProducerConfig
	log       *slog.Logger
	prod      *producer
	transport *kafka.Transport
	epoch     time.Time // health times are durations since epoch (monotonic)
	closeErr  error     // handed to every message pending at Close

	mu     sync.Mutex
	closed bool

	closeOnce sync.Once
	closeRes  error

	lastOK   atomic.Int64 // since epoch, of the last successful batch
	lastFail atomic.Pointer[sinkFailure]
	failing  atomic.Bool // for logging transitions only
}

// ackToken travels with one message through its partition's batch.
type ackToken struct {
	done atomic.Bool
	ack  Acker
}

// finish reports err to the token's Acker unless it was finished before:
// the first outcome wins.
func (t *ackToken) finish(err error) bool {
	a, ok := t.claim()
	if ok && a != nil {
		a.Done(err)
	}
	return ok
}

// claim marks the token finished and returns its Acker for the caller to
// call, unless it was finished before (ok false).
func (t *ackToken) claim() (a Acker, ok bool) {
	if !t.done.CompareAndSwap(false, true) {
		return nil, false
	}
	// Only the winner gets here: drop the Acker so that a batch freed
	// later does not keep finished work (and its record) alive.
	a = t.ack
	t.ack = nil
	return a, true
}

type sinkFailure struct {
	at  time.Duration // since epoch
	err error
}

// NewKafkaSink returns a producer writing to cfg.Brokers. Zero fields of cfg
// take the kafka_producer client's defaults (the defaultProducer*
// constants), except Acks: 0 means RequireNone (kafka-python's acks=0), so
// callers wanting kafka-python's default of 1 must set it. It does not
// contact the brokers: connection problems surface as failed acks and
// through Ready.
func NewKafkaSink(cfg KafkaProducerConfig, log *slog.Logger) (*KafkaSink, error) {
	return newKafkaSink(cfg, log, nil)
}

// newKafkaSink is NewKafkaSink with the producer's requests going through
// wrap(transport) when wrap is not nil (tests inject faults there).
func newKafkaSink(cfg KafkaProducerConfig, log *slog.Logger, wrap func(kafka.RoundTripper) kafka.RoundTripper) (*KafkaSink, error) {
	return buildKafkaSink(kafkaProducerDefaults(cfg), log, wrap)
}

// buildKafkaSink is newKafkaSink for a cfg whose defaults are applied.
func buildKafkaSink(cfg KafkaProducerConfig, log *slog.Logger, wrap func(kafka.RoundTripper) kafka.RoundTripper) (*KafkaSink, error) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", KafkaProducer)
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka producer: no brokers")
	}
	acks, err := requiredAcks(cfg.Acks)
	if err != nil {
		return nil, err
	}
	codec, err := compression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	balancer, err := balancer(cfg.Partitioner)
	if err != nil {
		return nil, err
	}
	transport, err := kafkaTransport(cfg.Security, cfg.ClientID)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	if acks == kafka.RequireNone {
		log.Warn("acks=0: messages count as written once sent, without broker confirmation")
	}
	s := &KafkaSink{
		cfg:       cfg,
		log:       log,
		transport: transport,
		epoch:     time.Now(),
		closeErr:  &OutboundError{Client: KafkaProducer, Err: fmt.Errorf("flush cut short: %w", ErrClosed)},
	}
	var rt kafka.RoundTripper = transport
	if wrap != nil {
		rt = wrap(transport)
	}
	s.prod = newProducer(cfg, log, rt, acks, codec, balancer, s.closeErr, s.noteResult)
	if wrap == nil {
		d, err := kafkaDialer(cfg.Security, cfg.ClientID, 0)
		if err != nil {
			return nil, fmt.Errorf("kafka producer: %w", err)
		}
		tlsCfg, _, err := securitySettings(cfg.Security)
		if err != nil {
			return nil, fmt.Errorf("kafka producer: %w", err)
		}
		s.prod.dialer = fetchDialer(d, tlsCfg)
	}
	return s, nil
}

func requiredAcks(acks int) (kafka.RequiredAcks, error) {
	switch acks {
	case -1:
		return kafka.RequireAll, nil
	case 1:
		return kafka.RequireOne, nil
	case 0:
		return kafka.RequireNone, nil
	}
	return 0, fmt.Errorf("kafka producer: acks %d: want -1 (all), 0 or 1", acks)
}

func compression(name string) (kafka.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("kafka producer: compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// balancer maps the partitioner names: murmur2 is the Java and
// kafka-python mapping of keys to partitions (unkeyed messages go to a
// random partition), crc32 is librdkafka's consistent_random, fnv1a is
// Sarama's, round_robin ignores keys.
func balancer(name string) (kafka.Balancer, error) {
	switch strings.ToLower(name) {
	case "", "murmur2":
		return &kafka.Murmur2Balancer{}, nil
	case "crc32":
		return &kafka.CRC32Balancer{}, nil
	case "fnv1a":
		return &kafka.Hash{}, nil
	case "round_robin":
		return &kafka.RoundRobin{}, nil
	}
	return nil, fmt.Errorf("kafka producer: partitioner %q: want murmur2, crc32, fnv1a or round_robin", name)
}

func (s *KafkaSink) since() time.Duration { return time.Since(s.epoch) }

// Write queues msgs and returns without waiting for the broker, except
// for a topic's partitions, which it looks up when they are not cached
// (cached for a second; the lookup waits for the Transport's first
// metadata answer, bounded by ctx). A topic missing from the metadata
// fails its messages at once (retryable: it may yet be created). A
// message goes to its Topic, or to the producer's topic when empty, with
// its key and headers, encoded before Write returns: the caller may reuse
// msgs and the byte slices they point to as soon as Write returns. It
// returns ErrClosed, calling no Acker, after Close.
func (s *KafkaSink) Write(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	toks := make([]ackToken, len(msgs))
	for i := range msgs {
		toks[i].ack = msgs[i].Ack
	}
	// A message's own timestamp (the inbound record's, or the one Process
	// set) is the record's; a zero time would be timestamp 0 (1970), which
	// time-based retention deletes at once: it gets now.
	now := time.Now()
	nowMs, deadline := now.UnixMilli(), now.Add(s.cfg.AckTimeout)
	var (
		topic string
		ti    *topicInfo
		perr  error
	)
	for i := range msgs {
		m, t := &msgs[i], &toks[i]
		to := m.Topic
		if to == "" {
			to = s.cfg.Topic
		}
		if to == "" {
			t.finish(&OutboundError{Client: KafkaProducer, Err: Permanent(errNoTopic), Permanent: true})
			continue
		}
		if to != topic || (ti == nil && perr == nil) {
			topic = to
			ti, perr = s.prod.partitions(ctx, topic)
		}
		err := perr
		if err == nil {
			ts := nowMs
			if !m.Timestamp.IsZero() && m.Timestamp.UnixMilli() >= 0 {
				ts = m.Timestamp.UnixMilli()
			}
			err = s.prod.add(topic, ti, m, ts, deadline, t)
		}
		if err != nil {
			s.fail(t, topic, err)
		}
	}
	return nil
}

// fail finishes t with err, met writing to where (a topic).
func (s *KafkaSink) fail(t *ackToken, where string, err error) {
	permanent := !retryable(err)
	if permanent {
		err = Permanent(err)
	}
	oerr := &OutboundError{
		Client:    KafkaProducer,
		Err:       fmt.Errorf("produce %s: %w", where, err),
		Permanent: permanent,
	}
	if !errors.Is(err, ErrClosed) {
		s.noteFailure(oerr)
	}
	t.finish(oerr)
}

// noteResult is the producer's report on each batch it sent.
func (s *KafkaSink) noteResult(err error) {
	if err == nil {
		s.noteSuccess()
		return
	}
	s.noteFailure(err)
}

// retryable reports whether writing the message again may succeed. The
// producer retries a batch while this holds, until the delivery deadline
// (or MaxAttempts when set); a failure it does not retry is permanent
// (runtime.Permanent): the engine applies the failure policy at once.
//
// Permanent: the message, the topic or our credentials are wrong, and the
// same write gets the same answer — MessageSizeTooLarge (also the
// producer's own check against MaxRequestSize; a batch of several records
// the broker finds too large is split first), RecordListTooLarge, InvalidRecord,
// InvalidTimestamp, InvalidTopic, TopicAuthorizationFailed,
// ClusterAuthorizationFailed, TransactionalIDAuthorizationFailed,
// SASLAuthenticationFailed, UnsupportedSASLMechanism, PolicyViolation,
// UnsupportedForMessageFormat, UnsupportedCompressionType,
// InvalidRequiredAcks, a message without topic, and TLS certificates the
// broker or we reject.
//
// Retryable: routing that stale metadata gets wrong and a metadata refresh
// (every MetadataTTL) fixes — kafka-go's client-side ErrNoLeader,
// ErrNoPartition and ErrNoTopic, which it does not retry itself, and
// UnknownTopicOrPartition (also what a topic being created looks like),
// LeaderNotAvailable, NotLeaderForPartition (NotLeaderOrFollower);
// overload — RequestTimedOut, NotEnoughReplicas(AfterAppend),
// KafkaStorageError, ThrottlingQuotaExceeded; network errors (connection
// refused or reset, EOF, deadlines), our ack timeout, and a sink closed
// under the message: none of these says anything about the record.
//
// Anything else is retryable too: the engine's retries are bounded by
// max_retries, after which the failure policy applies anyway, whereas
// calling an unknown error permanent could dead-letter good records for a
// fault of the cluster.
func retryable(err error) bool {
	if errors.Is(err, errNoTopic) {
		return false
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.MessageSizeTooLarge,
			kafka.RecordListTooLarge,
			kafka.InvalidRecord,
			kafka.InvalidTimestamp,
			kafka.InvalidTopic,
			kafka.TopicAuthorizationFailed,
			kafka.ClusterAuthorizationFailed,
			kafka.TransactionalIDAuthorizationFailed,
			kafka.SASLAuthenticationFailed,
			kafka.UnsupportedSASLMechanism,
			kafka.PolicyViolation,
			kafka.UnsupportedForMessageFormat,
			kafka.UnsupportedCompressionType,
			kafka.InvalidRequiredAcks:
			return false
		}
		return true
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify) {
		return false
	}
	return true
}

func (s *KafkaSink) noteSuccess() {
	s.lastOK.Store(int64(s.since()))
	if s.failing.Load() && s.failing.CompareAndSwap(true, false) {
		s.log.Info("writes recovered")
	}
}

func (s *KafkaSink) noteFailure(err error) {
	s.lastFail.Store(&sinkFailure{at: s.since(), err: err})
	if s.failing.CompareAndSwap(false, true) {
		s.log.Warn("writes failing", "err", err)
	} else {
		s.log.Debug("write failed", "err", err)
	}
}

// Ready returns nil when the producer looks healthy: no write failed, a
// write succeeded since the last failure, or the last failure is older
// than 30s. Otherwise it returns that failure. After Close it returns
// ErrClosed.
func (s *KafkaSink) Ready() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	f := s.lastFail.Load()
	if f == nil || time.Duration(s.lastOK.Load()) > f.at {
		return nil
	}
	age := s.since() - f.at
	if age > producerReadyWindow {
		return nil
	}
	return fmt.Errorf("last write failed %s ago: %w", age.Round(time.Millisecond), f.err)
}

// Close stops taking messages, flushes every batch within ctx and
// CloseTimeout, fails every message still unacknowledged with ErrClosed,
// and closes the Transport's connections. When the flush is cut short it
// returns the context error: the requests in flight are cancelled and
// their late outcomes ignored. Later calls return the first call's result.
func (s *KafkaSink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeRes = s.close(ctx) })
	return s.closeRes
}

func (s *KafkaSink) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.CloseTimeout)
	defer cancel()
	var err error
	if ferr := s.prod.close(ctx); ferr != nil {
		err = fmt.Errorf("kafka producer flush: %w", ferr)
		s.log.Warn("flush cut short", "err", err)
	}
	s.transport.CloseIdleConnections()
	return err
}
