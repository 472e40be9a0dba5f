package consumer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/internal/backoff"
	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// Source is the Kafka inbound client. In consumer-group mode it uses
// kafka-go's ConsumerGroup/Generation API (never the Reader with GroupID:
// that commits across rebalances into partitions it no longer owns); with
// manual assignments it reads the listed partitions and commits under the
// group id without membership.
//
// Per partition, one goroutine fetches whole batches from the leader
// (see partitionFetcher) and submits them to the engine's lane; offsets are
// committed from the lane's watermark on CommitInterval and once more after
// the lane drains, always inside the generation that owns the partition.
type Source struct {
	id        string
	cfg       Config
	dialer    *kafka.Dialer
	fetchDl   *kafka.Dialer // the fetchers': TLS in DialFunc (see rkafka.RawDialer)
	tlsCfg    *tls.Config
	transport *kafka.Transport
	client    *kafka.Client // ListOffsets, metadata and manual commits
	drain     time.Duration
	log       *slog.Logger

	// sleep waits d or until ctx ends: fetch backoff and broker throttling
	// (a test hook; nil means sleepCtx).
	sleep func(ctx context.Context, d time.Duration)

	mu       sync.Mutex
	problems map[string]string // group-level reasons not to be ready, by kind
	warned   map[string]bool   // missing topics already warned about
}

// NewSource returns the Kafka inbound client with id. drain bounds how
// long a revoked or closing partition may finish its in-flight work.
//
// Zero fields of cfg take the kafka_consumer client's defaults;
// MaxBatchBytes defaults to Flow.MaxInFlightBytes's default.
func NewSource(id string, cfg Config, drain time.Duration, log *slog.Logger) (*Source, error) {
	return buildSource(id, withMaxBatch(defaults(cfg), 64<<20), drain, log)
}

// buildSource is NewSource for a cfg whose defaults are applied.
func buildSource(id string, cfg Config, drain time.Duration, log *slog.Logger) (*Source, error) {
	if len(cfg.Brokers) == 0 {
		return nil, fmt.Errorf("kafka consumer %q: no bootstrap servers", id)
	}
	if len(cfg.Assignments) == 0 && (cfg.GroupID == "" || len(cfg.Topics) == 0) {
		return nil, fmt.Errorf("kafka consumer %q: consumer-group mode needs group_id and topics", id)
	}
	d, err := rkafka.Dialer(cfg.Security, cfg.ClientID, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer %q: %w", id, err)
	}
	tlsCfg, _, err := rkafka.SecuritySettings(cfg.Security)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer %q: %w", id, err)
	}
	transport, err := rkafka.Transport(cfg.Security, cfg.ClientID)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer %q: %w", id, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Source{id: id, cfg: cfg, dialer: d, fetchDl: rkafka.RawDialer(d, tlsCfg), tlsCfg: tlsCfg,
		transport: transport, client: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second, Transport: transport},
		drain: drain, log: log.With("component", "kafka_consumer", "client", id),
		problems: map[string]string{}, warned: map[string]bool{}}, nil
}

// Ready implements readier: the group-level problems (joining the group,
// missing input topics); fetch problems are reported per partition.
func (s *Source) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) == 0 {
		return nil
	}
	var out []string
	for _, p := range s.problems {
		out = append(out, p)
	}
	slices.Sort(out)
	return errors.New(strings.Join(out, "; "))
}

func (s *Source) setProblem(kind, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if text == "" {
		delete(s.problems, kind)
	} else {
		s.problems[kind] = text
	}
}

// Run implements Source.
func (s *Source) Run(ctx context.Context, intake runtime.Intake) error {
	defer s.transport.CloseIdleConnections()
	if len(s.cfg.Assignments) > 0 {
		return s.runManual(ctx, intake)
	}
	return s.runGroup(ctx, intake)
}

func (s *Source) runGroup(ctx context.Context, intake runtime.Intake) error {
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
			s.setProblem("group", fmt.Sprintf("consumer group %s: joining failed %d times: %v", s.cfg.GroupID, failures, err))
			continue
		}
		failures = 0
		s.setProblem("group", "")
		s.serveGeneration(ctx, gen, intake)
	}
}

// offsetCommitter serialises commits for one generation (or one manual
// session) and never moves an offset backwards.
type offsetCommitter struct {
	mu   sync.Mutex
	done map[string]map[int]int64
	// commit sends offsets to the group; ctx bounds its retries.
	commit func(ctx context.Context, offsets map[string]map[int]int64) error
	log    *slog.Logger
	// lanes learn their committed offsets (for lag metrics).
	lanes map[string]map[int]runtime.Lane
}

func (c *offsetCommitter) track(pl partLane) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lanes == nil {
		c.lanes = map[string]map[int]runtime.Lane{}
	}
	if c.lanes[pl.topic] == nil {
		c.lanes[pl.topic] = map[int]runtime.Lane{}
	}
	c.lanes[pl.topic][pl.partition] = pl.lane
}

// known records an offset the group already has committed (so it is not
// committed again, and lag shows before anything new is committed).
func (c *offsetCommitter) known(topic string, partition int, off int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done[topic] == nil {
		c.done[topic] = map[int]int64{}
	}
	c.done[topic][partition] = off
	if l := c.lanes[topic][partition]; l != nil {
		l.SetCommitted(off)
	}
}

func (c *offsetCommitter) send(ctx context.Context, want map[string]map[int]int64) error {
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
	if err := c.commit(ctx, out); err != nil {
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
	lane      runtime.Lane
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

// serveGeneration runs one generation: a fetcher per assigned partition,
// a periodic committer and a partition watcher, all bound to the
// generation; it returns once all of them returned (the generation ended,
// or ctx ended and they drained). The final commit of every partition is
// one request, sent after all of them drained, while the generation (and
// its coordinator connection) is still alive.
func (s *Source) serveGeneration(ctx context.Context, gen *kafka.Generation, intake runtime.Intake) {
	var lanes []partLane
	n := 0
	for _, parts := range gen.Assignments {
		n += len(parts)
	}
	s.log.Info("partitions assigned", "generation", gen.ID, "member", gen.MemberID, "partitions", n, "assignments", assignmentsText(gen.Assignments))
	committer := &offsetCommitter{done: map[string]map[int]int64{}, commit: s.generationCommit(gen), log: s.log}
	if r, ok := intake.(interface{ Rebalanced(string) }); ok {
		r.Rebalanced(s.id)
	}
	finals := &finalOffsets{}
	var wg, drained sync.WaitGroup
	for topic, parts := range gen.Assignments {
		for _, p := range parts {
			pl := partLane{topic: topic, partition: p.ID, lane: intake.Open(s.id, topic, int32(p.ID))}
			committer.track(pl)
			lanes = append(lanes, pl)
			offset := p.Offset
			if offset >= 0 {
				committer.known(topic, p.ID, offset)
			}
			wg.Add(1)
			drained.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				defer drained.Done()
				if next, ok := s.consumePartition(ctx, gctx, pl, offset); ok {
					finals.add(pl.topic, pl.partition, next)
				}
			})
		}
	}
	wg.Add(1)
	gen.Start(func(gctx context.Context) {
		defer wg.Done()
		s.commitLoop(ctx, gctx, committer, lanes, gen.ID)
		drained.Wait()
		s.finalCommit(ctx, committer, finals.get())
	})
	wg.Add(1)
	gen.Start(func(gctx context.Context) {
		defer wg.Done()
		s.watchPartitions(ctx, gctx)
	})
	wg.Wait()
	s.log.Info("partitions revoked", "generation", gen.ID, "partitions", n)
}

// commitLoop commits finished offsets every CommitInterval until gctx or
// ctx ends.
func (s *Source) commitLoop(ctx, gctx context.Context, c *offsetCommitter, lanes []partLane, generation int32) {
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			// A failed commit is tried again on the next tick. The end of
			// the generation (or of ctx) stops its retries: the final
			// commit that follows carries newer offsets anyway.
			cctx, cancel := context.WithTimeout(gctx, rkafka.DialTimeout)
			stop := context.AfterFunc(ctx, cancel)
			err := c.send(cctx, collect(lanes))
			stop()
			cancel()
			if err != nil {
				s.log.Warn("offset commit failed", "generation", generation, "err", err)
			}
		case <-gctx.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// finalCommit commits the drained partitions' last offsets in one request,
// within a drain budget of its own (see drainBudget).
func (s *Source) finalCommit(ctx context.Context, c *offsetCommitter, offsets map[string]map[int]int64) {
	cctx, cancel := context.WithTimeout(context.Background(), s.drainBudget(ctx))
	defer cancel()
	if err := c.send(cctx, offsets); err != nil {
		s.log.Warn("final offset commit failed; records after the last commit will be read again",
			"offsets", offsets, "err", err)
	}
}

// finalOffsets collects the partitions' offsets after their drain.
type finalOffsets struct {
	mu  sync.Mutex
	off map[string]map[int]int64
}

func (f *finalOffsets) add(topic string, partition int, next int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off == nil {
		f.off = map[string]map[int]int64{}
	}
	if f.off[topic] == nil {
		f.off[topic] = map[int]int64{}
	}
	f.off[topic][partition] = next
}

func (f *finalOffsets) get() map[string]map[int]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off
}

// watchPartitions ends the generation (so the group rebalances and assigns
// them) when a consumed topic gains partitions or appears; kafka-go's own
// watcher would end every generation at once while a topic is missing. A
// missing topic is warned about once and reported by Ready.
func (s *Source) watchPartitions(ctx, gctx context.Context) {
	t := time.NewTicker(s.cfg.PartitionWatchInterval)
	defer t.Stop()
	var base map[string]int
	for {
		if counts, err := s.partitionCounts(gctx); err == nil {
			if base == nil {
				base = counts
			} else if !maps.Equal(base, counts) {
				s.log.Info("partitions of consumed topics changed; rebalancing", "before", base, "now", counts)
				return
			}
		} else if gctx.Err() == nil {
			s.log.Debug("partition watch: metadata failed", "err", err)
		}
		select {
		case <-t.C:
		case <-gctx.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// topicMetadata asks a bootstrap broker for the consumed topics' metadata
// (never the transport's cache, which is up to 6 s old; never creating
// a missing topic).
func (s *Source) topicMetadata(ctx context.Context) (*metadataAPI.Response, error) {
	var last error
	for _, addr := range s.cfg.Brokers {
		res, err := rkafka.RoundTrip(ctx, s.fetchDl, addr, 8, &metadataAPI.Request{TopicNames: s.cfg.Topics})
		if err != nil {
			last = fmt.Errorf("metadata from %s: %w", addr, err)
			continue
		}
		return res.(*metadataAPI.Response), nil
	}
	return nil, last
}

// partitionCounts returns the partition count of every consumed topic (0
// for a missing one), and updates the missing-topic problem.
func (s *Source) partitionCounts(ctx context.Context) (map[string]int, error) {
	resp, err := s.topicMetadata(ctx)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, t := range s.cfg.Topics {
		counts[t] = 0
	}
	var missing []string
	for _, t := range resp.Topics {
		switch code := kafka.Error(t.ErrorCode); {
		case code == kafka.UnknownTopicOrPartition:
			missing = append(missing, t.Name)
		case code != 0:
			return nil, fmt.Errorf("metadata of %s: %w", t.Name, code)
		default:
			counts[t.Name] = len(t.Partitions)
		}
	}
	slices.Sort(missing)
	s.mu.Lock()
	for _, name := range missing {
		if !s.warned[name] {
			s.warned[name] = true
			s.log.Warn("input topic does not exist; it is consumed once it is created", "topic", name)
		}
	}
	s.mu.Unlock()
	if len(missing) > 0 {
		s.setProblem("topics", "input topic missing: "+strings.Join(missing, ", "))
	} else {
		s.setProblem("topics", "")
	}
	return counts, nil
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
// then drains its lane and returns its final offset (ok false: nothing to
// commit, or the drain budget ran out).
func (s *Source) consumePartition(ctx, gctx context.Context, pl partLane, offset int64) (int64, bool) {
	fctx, cancel := context.WithCancel(gctx)
	stop := context.AfterFunc(ctx, cancel)
	s.fetch(fctx, pl, offset)
	stop()
	cancel()
	dctx, dcancel := context.WithTimeout(context.Background(), s.drainBudget(ctx))
	defer dcancel()
	return pl.lane.Drain(dctx)
}

// drainBudget is how long a revoked partition may drain, and then how long
// the final commit may take: the flow's drain timeout, or the seed's
// close_timeout when shutting down (ctx ended) and it is shorter.
func (s *Source) drainBudget(ctx context.Context) time.Duration {
	if ctx.Err() != nil && s.cfg.CloseTimeout < s.drain {
		return s.cfg.CloseTimeout
	}
	return s.drain
}

// fetch reads batches from the partition leader and submits them, from
// offset on, until ctx ends. Broker and network failures reconnect with
// backoff and are reported on the lane (for /readyz and the metrics); an
// out-of-range offset resets by AutoOffsetReset; a batch that cannot be
// decoded is tried again, then handed to the failure policy (see
// lane.Undecodable).
func (s *Source) fetch(ctx context.Context, pl partLane, offset int64) {
	rep, _ := pl.lane.(runtime.FetchReporter)
	bo := backoff.New(s.cfg.RetryBackoff, max(5*time.Second, s.cfg.RetryBackoff))
	f := newPartitionFetcher(&s.cfg, s.fetchDl, s.tlsCfg, s.client, pl.topic, pl.partition)
	if s.sleep != nil {
		bo.Sleep, f.sleep = s.sleep, s.sleep
	}
	defer f.close()
	var recs []runtime.Record
	var problem runtime.FetchProblem
	for ctx.Err() == nil {
		var err error
		if offset < 0 {
			var start int64
			if start, err = f.resolve(ctx, offset); err == nil {
				offset = start
				s.log.Debug("start offset resolved", "topic", pl.topic, "partition", pl.partition, "offset", offset)
			}
		}
		hwm := int64(-1)
		if err == nil {
			recs, offset, hwm, err = f.fetch(ctx, offset, recs[:0])
		}
		if hwm >= 0 {
			pl.lane.SetHighWaterMark(hwm)
		}
		if len(recs) > 0 {
			if serr := pl.lane.Submit(ctx, recs); serr != nil {
				// Not accepted (the partition is being given up): these
				// records were not handed on and will be read again by
				// whoever owns the partition.
				return
			}
			clear(recs)
		}
		if offset >= 0 && rep != nil {
			// Everything below offset was submitted or passed over: the
			// start position of an idle partition and trailing transaction
			// markers become committable.
			rep.Advance(offset)
		}
		var de *runtime.DecodeError
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			bo.Reset()
			if problem.Failures > 0 {
				s.log.Info("fetching works again", "topic", pl.topic, "partition", pl.partition, "failures", problem.Failures)
				problem = runtime.FetchProblem{}
				if rep != nil {
					rep.FetchOK()
				}
			}
			continue
		case errors.Is(err, kafka.OffsetOutOfRange):
			s.log.Warn("offset out of range; resetting", "topic", pl.topic, "partition", pl.partition,
				"offset", offset, "auto_offset_reset", s.cfg.AutoOffsetReset)
			offset = resetOffset(s.cfg.AutoOffsetReset)
			continue
		}
		if problem.Failures == 0 {
			problem.Since = time.Now()
		}
		problem.Failures++
		problem.Reason, problem.Err, problem.Offset = fetchReason(err), err.Error(), offset
		if problem.Stuck = errors.As(err, &de); problem.Stuck {
			problem.Offset, problem.Err = de.Offset, de.Err.Error() // the reason already says undecodable
		}
		if rep != nil {
			rep.FetchFailed(problem)
		}
		if problem.Stuck {
			if rep != nil && rep.Undecodable(ctx, de, problem.Failures) {
				offset = de.Next
				rep.Advance(offset)
				problem = runtime.FetchProblem{}
				rep.FetchOK()
				continue
			}
			s.log.Warn("undecodable record batch; the partition cannot move past it", "topic", pl.topic, "partition", pl.partition,
				"offset", de.Offset, "attempt", problem.Failures, "err", err)
		} else {
			s.log.Warn("fetch failed; retrying", "topic", pl.topic, "partition", pl.partition,
				"reason", problem.Reason, "attempt", problem.Failures, "err", err)
		}
		bo.Wait(ctx)
	}
}

// fetchReason classifies a fetch failure for /readyz.
func fetchReason(err error) string {
	var de *runtime.DecodeError
	var ke kafka.Error
	switch {
	case errors.As(err, &de):
		return "undecodable record batch"
	case errors.As(err, &ke):
		switch ke {
		case kafka.NotLeaderForPartition, kafka.LeaderNotAvailable, kafka.FencedLeaderEpoch,
			kafka.UnknownLeaderEpoch, kafka.ReplicaNotAvailable, kafka.KafkaStorageError,
			kafka.PreferredLeaderNotAvailable, kafka.OffsetNotAvailable:
			return "not leader"
		case kafka.UnknownTopicOrPartition:
			return "topic or partition unknown"
		}
		return "broker error"
	}
	return "broker unreachable"
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
func (s *Source) runManual(ctx context.Context, intake runtime.Intake) error {
	client := s.client
	committed, err := s.committedOffsets(ctx, client)
	for err != nil {
		s.log.Warn("cannot fetch committed offsets; retrying", "group", s.cfg.GroupID, "err", err)
		s.setProblem("group", fmt.Sprintf("committed offsets of group %s: %v", s.cfg.GroupID, err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		committed, err = s.committedOffsets(ctx, client)
	}
	s.setProblem("group", "")
	committer := &offsetCommitter{done: map[string]map[int]int64{}, log: s.log,
		commit: func(ctx context.Context, o map[string]map[int]int64) error { return s.commitManual(ctx, client, o) }}
	var lanes []partLane
	var wg sync.WaitGroup
	finals := &finalOffsets{}
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
			committer.known(a.Topic, a.Partition, off)
		}
		s.log.Info("partition assigned manually", "topic", a.Topic, "partition", a.Partition, "offset", offset)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if next, ok := s.consumePartition(ctx, ctx, pl, offset); ok {
				finals.add(pl.topic, pl.partition, next)
			}
		}()
	}
	s.commitLoop(ctx, ctx, committer, lanes, -1)
	wg.Wait()
	s.finalCommit(ctx, committer, finals.get())
	return nil
}

func (s *Source) committedOffsets(ctx context.Context, client *kafka.Client) (map[string]map[int]int64, error) {
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

func (s *Source) commitManual(ctx context.Context, client *kafka.Client, offsets map[string]map[int]int64) error {
	if s.cfg.GroupID == "" {
		return nil
	}
	req := &kafka.OffsetCommitRequest{GroupID: s.cfg.GroupID, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{}}
	for topic, parts := range offsets {
		for p, off := range parts {
			req.Topics[topic] = append(req.Topics[topic], kafka.OffsetCommit{Partition: p, Offset: off})
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
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
