package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// KafkaSource is the Kafka inbound client. In consumer-group mode it uses
// kafka-go's ConsumerGroup/Generation API (never the Reader with GroupID:
// that commits across rebalances into partitions it no longer owns); with
// manual assignments it reads the listed partitions and commits under the
// group id without membership.
//
// Per partition, one goroutine fetches whole batches from the leader
// (see partitionFetcher) and submits them to the engine's lane; offsets are
// committed from the lane's watermark on CommitInterval and once more after
// the lane drains, always inside the generation that owns the partition.
type KafkaSource struct {
	id       string
	cfg      KafkaConsumerConfig
	dialer   *kafka.Dialer
	fetchDl  *kafka.Dialer // the fetchers': TLS in DialFunc (see fetchDialer)
	tlsCfg   *tls.Config
	drain    time.Duration
	log      *slog.Logger
	fetchCap int
}

// NewKafkaSource returns the Kafka inbound client with id. drain bounds how
// long a revoked or closing partition may finish its in-flight work.
func NewKafkaSource(id string, cfg KafkaConsumerConfig, drain time.Duration, log *slog.Logger) (*KafkaSource, error) {
	cfg = kafkaConsumerDefaults(cfg)
	if len(cfg.Brokers) == 0 {
		return nil, fmt.Errorf("kafka consumer %q: no bootstrap servers", id)
	}
	if len(cfg.Assignments) == 0 && (cfg.GroupID == "" || len(cfg.Topics) == 0) {
		return nil, fmt.Errorf("kafka consumer %q: consumer-group mode needs group_id and topics", id)
	}
	d, err := kafkaDialer(cfg.Security, cfg.ClientID, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer %q: %w", id, err)
	}
	tlsCfg, _, err := securitySettings(cfg.Security)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer %q: %w", id, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &KafkaSource{id: id, cfg: cfg, dialer: d, fetchDl: fetchDialer(d, tlsCfg), tlsCfg: tlsCfg, drain: drain,
		log: log.With("component", "kafka_consumer", "client", id)}, nil
}

// kafkaConsumerDefaults fills the zero fields with kgen's documented
// defaults (kafka-python's where the seed relied on them).
func kafkaConsumerDefaults(c KafkaConsumerConfig) KafkaConsumerConfig {
	if c.AutoOffsetReset == "" {
		c.AutoOffsetReset = "latest"
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = 30 * time.Second
	}
	if c.MinBytes <= 0 {
		c.MinBytes = 1
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 20
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = 5 * time.Second
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 10 * time.Second
	}
	return c
}

// Run implements Source.
func (s *KafkaSource) Run(ctx context.Context, intake Intake) error {
	if len(s.cfg.Assignments) > 0 {
		return s.runManual(ctx, intake)
	}
	return s.runGroup(ctx, intake)
}

func (s *KafkaSource) runGroup(ctx context.Context, intake Intake) error {
	balancers, err := groupBalancers(s.cfg.Balancers)
	if err != nil {
		return err
	}
	start := kafka.LastOffset
	if s.cfg.AutoOffsetReset == "earliest" {
		start = kafka.FirstOffset
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                s.cfg.GroupID,
		Brokers:           s.cfg.Brokers,
		Dialer:            s.dialer,
		Topics:            s.cfg.Topics,
		GroupBalancers:    balancers,
		HeartbeatInterval: s.cfg.HeartbeatInterval,
		SessionTimeout:    s.cfg.SessionTimeout,
		RebalanceTimeout:  s.cfg.RebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		StartOffset:       start,
		Timeout:           10 * time.Second,
		ErrorLogger:       kafka.LoggerFunc(func(f string, a ...any) { s.log.Debug(fmt.Sprintf(f, a...)) }),
	})
	if err != nil {
		return fmt.Errorf("kafka consumer %q: %w", s.id, err)
	}
	defer group.Close()
	s.log.Info("joining consumer group", "group", s.cfg.GroupID, "topics", s.cfg.Topics)
	failures := 0
	for {
		gen, err := group.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, kafka.ErrGroupClosed) {
			return nil
		}
		if err != nil {
			failures++
			lvl := slog.LevelWarn
			if failures > 1 && failures%10 != 0 {
				lvl = slog.LevelDebug
			}
			s.log.Log(ctx, lvl, "consumer group join failed; retrying", "group", s.cfg.GroupID, "attempt", failures, "err", err)
			continue
		}
		failures = 0
		s.serveGeneration(ctx, gen, intake)
	}
}

// offsetCommitter serialises commits for one generation (or one manual
// session) and never moves an offset backwards.
type offsetCommitter struct {
	mu     sync.Mutex
	done   map[string]map[int]int64
	commit func(map[string]map[int]int64) error
	log    *slog.Logger
	// lanes learn their committed offsets (for lag metrics).
	lanes map[string]map[int]Lane
}

func (c *offsetCommitter) track(pl partLane) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lanes == nil {
		c.lanes = map[string]map[int]Lane{}
	}
	if c.lanes[pl.topic] == nil {
		c.lanes[pl.topic] = map[int]Lane{}
	}
	c.lanes[pl.topic][pl.partition] = pl.lane
}

func (c *offsetCommitter) send(want map[string]map[int]int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[int]int64{}
	for topic, parts := range want {
		for p, off := range parts {
			if prev, ok := c.done[topic][p]; ok && off <= prev {
				continue
			}
			if out[topic] == nil {
				out[topic] = map[int]int64{}
			}
			out[topic][p] = off
		}
	}
	if len(out) == 0 {
		return nil
	}
	if err := c.commit(out); err != nil {
		return err
	}
	for topic, parts := range out {
		if c.done[topic] == nil {
			c.done[topic] = map[int]int64{}
		}
		for p, off := range parts {
			c.done[topic][p] = off
			if l := c.lanes[topic][p]; l != nil {
				l.SetCommitted(off)
			}
		}
	}
	c.log.Debug("offsets committed", "offsets", out)
	return nil
}

type partLane struct {
	topic     string
	partition int
	lane      Lane
}

// collect returns the committable offsets of lanes.
func collect(lanes []partLane) map[string]map[int]int64 {
	out := map[string]map[int]int64{}
	for _, pl := range lanes {
		if next, ok := pl.lane.Committable(); ok {
			if out[pl.topic] == nil {
				out[pl.topic] = map[int]int64{}
			}
			out[pl.topic][pl.partition] = next
		}
	}
	return out
}

// serveGeneration runs one generation: a fetcher per assigned partition and
// a periodic committer, all bound to the generation; it returns once all
// of them returned (the generation ended, or ctx ended and they drained).
func (s *KafkaSource) serveGeneration(ctx context.Context, gen *kafka.Generation, intake Intake) {
	var lanes []partLane
	n := 0
	for _, parts := range gen.Assignments {
		n += len(parts)
	}
	s.log.Info("partitions assigned", "generation", gen.ID, "member", gen.MemberID, "partitions", n, "assignments", assignmentsText(gen.Assignments))
	committer := &offsetCommitter{done: map[string]map[int]int64{}, commit: gen.CommitOffsets, log: s.log}
	if r, ok := intake.(interface{ Rebalanced(string) }); ok {
		r.Rebalanced(s.id)
	}
	var wg sync.WaitGroup
	for topic, parts := range gen.Assignments {
		for _, p := range parts {
			pl := partLane{topic: topic, partition: p.ID, lane: intake.Open(s.id, topic, int32(p.ID))}
			committer.track(pl)
			lanes = append(lanes, pl)
			offset := p.Offset
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				s.consumePartition(ctx, gctx, pl, offset, committer)
			})
		}
	}
	wg.Add(1)
	gen.Start(func(gctx context.Context) {
		defer wg.Done()
		t := time.NewTicker(s.cfg.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := committer.send(collect(lanes)); err != nil {
					s.log.Warn("offset commit failed", "generation", gen.ID, "err", err)
				}
			case <-gctx.Done():
				return
			case <-ctx.Done():
				return
			}
		}
	})
	wg.Wait()
	s.log.Info("partitions revoked", "generation", gen.ID, "partitions", n)
}

func assignmentsText(a map[string][]kafka.PartitionAssignment) string {
	out := ""
	for topic, parts := range a {
		for _, p := range parts {
			if out != "" {
				out += ","
			}
			out += fmt.Sprintf("%s/%d", topic, p.ID)
		}
	}
	return out
}

// consumePartition fetches one partition until the generation or ctx ends,
// then drains its lane and commits the final watermark.
func (s *KafkaSource) consumePartition(ctx, gctx context.Context, pl partLane, offset int64, c *offsetCommitter) {
	fctx, cancel := context.WithCancel(gctx)
	stop := context.AfterFunc(ctx, cancel)
	s.fetch(fctx, pl, offset)
	stop()
	cancel()
	budget := s.drain
	if ctx.Err() != nil && s.cfg.CloseTimeout < budget {
		// Shutting down: the seed's close_timeout bounds the drain.
		budget = s.cfg.CloseTimeout
	}
	dctx, dcancel := context.WithTimeout(context.Background(), budget)
	next, ok := pl.lane.Drain(dctx)
	dcancel()
	if !ok {
		return
	}
	if err := c.send(map[string]map[int]int64{pl.topic: {pl.partition: next}}); err != nil {
		s.log.Warn("final offset commit failed; records after the last commit will be read again",
			"topic", pl.topic, "partition", pl.partition, "offset", next, "err", err)
	}
}

// fetch reads batches from the partition leader and submits them, from
// offset on, until ctx ends. Broker and network failures reconnect with
// backoff; an out-of-range offset resets by AutoOffsetReset.
func (s *KafkaSource) fetch(ctx context.Context, pl partLane, offset int64) {
	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	f := newPartitionFetcher(&s.cfg, s.fetchDl, s.tlsCfg, pl.topic, pl.partition)
	defer f.close()
	var recs []Record
	for ctx.Err() == nil {
		var err error
		if offset < 0 {
			offset, err = f.resolve(ctx, s.dialer, offset)
		}
		hwm := int64(-1)
		if err == nil {
			recs, offset, hwm, err = f.fetch(ctx, offset, recs[:0])
		}
		if hwm > 0 {
			pl.lane.SetHighWaterMark(hwm)
		}
		if len(recs) > 0 {
			backoff.reset()
			if serr := pl.lane.Submit(ctx, recs); serr != nil {
				// Not accepted (the partition is being given up): these
				// records were not handed on and will be read again by
				// whoever owns the partition.
				return
			}
			clear(recs)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
		case errors.Is(err, kafka.OffsetOutOfRange):
			s.log.Warn("offset out of range; resetting", "topic", pl.topic, "partition", pl.partition,
				"offset", offset, "auto_offset_reset", s.cfg.AutoOffsetReset)
			offset = resetOffset(s.cfg.AutoOffsetReset)
		default:
			s.log.Warn("fetch failed; retrying", "topic", pl.topic, "partition", pl.partition, "err", err)
			backoff.wait(ctx)
		}
	}
}

func resetOffset(policy string) int64 {
	if policy == "earliest" {
		return kafka.FirstOffset
	}
	return kafka.LastOffset
}

func groupBalancers(names []string) ([]kafka.GroupBalancer, error) {
	if len(names) == 0 {
		return []kafka.GroupBalancer{kafka.RangeGroupBalancer{}, kafka.RoundRobinGroupBalancer{}}, nil
	}
	var out []kafka.GroupBalancer
	for _, n := range names {
		switch n {
		case "range":
			out = append(out, kafka.RangeGroupBalancer{})
		case "roundrobin":
			out = append(out, kafka.RoundRobinGroupBalancer{})
		case "rack-affinity":
			out = append(out, kafka.RackAffinityGroupBalancer{})
		default:
			return nil, fmt.Errorf("unknown partition assignment strategy %q (range, roundrobin, rack-affinity)", n)
		}
	}
	return out, nil
}

// runManual reads the listed partitions without group membership; offsets
// are fetched from and committed under GroupID when it is set.
func (s *KafkaSource) runManual(ctx context.Context, intake Intake) error {
	transport, err := kafkaTransport(s.cfg.Security, s.cfg.ClientID)
	if err != nil {
		return fmt.Errorf("kafka consumer %q: %w", s.id, err)
	}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(s.cfg.Brokers...), Timeout: 10 * time.Second, Transport: transport}
	committed, err := s.committedOffsets(ctx, client)
	for err != nil {
		s.log.Warn("cannot fetch committed offsets; retrying", "group", s.cfg.GroupID, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		committed, err = s.committedOffsets(ctx, client)
	}
	committer := &offsetCommitter{done: map[string]map[int]int64{}, log: s.log,
		commit: func(o map[string]map[int]int64) error { return s.commitManual(client, o) }}
	var lanes []partLane
	var wg sync.WaitGroup
	for _, a := range s.cfg.Assignments {
		pl := partLane{topic: a.Topic, partition: a.Partition, lane: intake.Open(s.id, a.Topic, int32(a.Partition))}
		committer.track(pl)
		lanes = append(lanes, pl)
		offset := resetOffset(s.cfg.AutoOffsetReset)
		if a.Offset != nil {
			offset = *a.Offset
		}
		if off, ok := committed[a.Topic][a.Partition]; ok && off >= 0 {
			offset = off
		}
		s.log.Info("partition assigned manually", "topic", a.Topic, "partition", a.Partition, "offset", offset)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.consumePartition(ctx, ctx, pl, offset, committer)
		}()
	}
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := committer.send(collect(lanes)); err != nil {
				s.log.Warn("offset commit failed", "group", s.cfg.GroupID, "err", err)
			}
		case <-ctx.Done():
			wg.Wait()
			return nil
		}
	}
}

func (s *KafkaSource) committedOffsets(ctx context.Context, client *kafka.Client) (map[string]map[int]int64, error) {
	out := map[string]map[int]int64{}
	if s.cfg.GroupID == "" {
		return out, nil
	}
	topics := map[string][]int{}
	for _, a := range s.cfg.Assignments {
		topics[a.Topic] = append(topics[a.Topic], a.Partition)
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: s.cfg.GroupID, Topics: topics})
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	for topic, parts := range resp.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
			if out[topic] == nil {
				out[topic] = map[int]int64{}
			}
			out[topic][p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}

func (s *KafkaSource) commitManual(client *kafka.Client, offsets map[string]map[int]int64) error {
	if s.cfg.GroupID == "" {
		return nil
	}
	req := &kafka.OffsetCommitRequest{GroupID: s.cfg.GroupID, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{}}
	for topic, parts := range offsets {
		for p, off := range parts {
			req.Topics[topic] = append(req.Topics[topic], kafka.OffsetCommit{Partition: p, Offset: off})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client.OffsetCommit(ctx, req)
	if err != nil {
		return err
	}
	for topic, parts := range resp.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
		}
	}
	return nil
}

// backoff is an exponential delay with jitter for reconnect loops.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi, cur: lo} }

func (b *backoff) reset() { b.cur = b.min }

func (b *backoff) wait(ctx context.Context) {
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(b.cur*2, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
