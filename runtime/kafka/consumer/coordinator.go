package consumer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/findcoordinator"
	"github.com/segmentio/kafka-go/protocol/offsetcommit"

	"github.com/kgen-dev/kgen/runtime/internal/backoff"
	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// generationCommit returns the commit function of one generation.
//
// kafka-go's gen.CommitOffsets sends the commit on the generation's own
// coordinator connection. When that broker stops or freezes, its heartbeat
// fails and the generation ends, and our drain's final commit (sent
// after the lanes drained, while the generation is still ours) fails on
// the same dead connection: the next generation would read again
// everything since the last periodic commit. The group itself is not lost:
// its state (generation id, members) moves with the __consumer_offsets
// partition to the new coordinator, which accepts a commit carrying the
// still-current generation and member id (the group is Stable or
// PreparingRebalance until the members join again). So when the commit
// fails because the coordinator is gone or moved (see coordinatorMoved),
// the same commit is sent to the coordinator found anew. The broker checks
// the generation, so this never commits for partitions another member owns
// now: a stale generation is refused (IllegalGeneration, UnknownMemberId,
// RebalanceInProgress) and that error is returned as before.
func (s *Source) generationCommit(gen *kafka.Generation) func(context.Context, map[string]map[int]int64) error {
	return s.commitWithFallback(gen.CommitOffsets, gen.ID, gen.MemberID)
}

// commitWithFallback is generationCommit with the generation's own commit
// (on its coordinator connection) as commit.
func (s *Source) commitWithFallback(commit func(map[string]map[int]int64) error, generation int32, member string) func(context.Context, map[string]map[int]int64) error {
	return func(ctx context.Context, offsets map[string]map[int]int64) error {
		err := commit(offsets)
		if err == nil || !coordinatorMoved(err) {
			return err
		}
		s.log.Info("offset commit failed on the group's coordinator connection; committing at the coordinator found anew",
			"generation", generation, "err", err)
		if ferr := s.commitAtCoordinator(ctx, generation, member, offsets); ferr != nil {
			return fmt.Errorf("%w; at the coordinator found anew: %w", err, ferr)
		}
		s.log.Info("offsets committed at the coordinator found anew", "generation", generation)
		return nil
	}
}

// coordinatorMoved reports whether a commit failed because its coordinator
// is unreachable or no longer the group's coordinator, so the same commit
// may be sent to the coordinator found anew: the group coordinator errors
// (the coordinator moved, is not elected yet, or is still loading the
// group), and anything that is not a Kafka error code (connection closed or
// reset, timeouts). Every other Kafka error is the broker's answer about the
// commit itself (IllegalGeneration, UnknownMemberId, RebalanceInProgress,
// ...): sending it elsewhere cannot help.
func coordinatorMoved(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return true
	}
	switch ke {
	case kafka.NotCoordinatorForGroup, kafka.GroupCoordinatorNotAvailable, kafka.GroupLoadInProgress:
		return true
	}
	return false
}

// commitAtCoordinator finds the group's coordinator anew and sends it an
// OffsetCommit with the given generation and member id, trying again with
// backoff while the coordinator is unreachable or moving, until ctx ends.
func (s *Source) commitAtCoordinator(ctx context.Context, generation int32, member string, offsets map[string]map[int]int64) error {
	bo := backoff.New(s.cfg.RetryBackoff, time.Second)
	if s.sleep != nil {
		bo.Sleep = s.sleep
	}
	for {
		addr, err := s.findCoordinator(ctx)
		if err == nil {
			err = s.sendOffsetCommit(ctx, addr, generation, member, offsets)
		}
		if err == nil || !coordinatorMoved(err) {
			return err
		}
		s.log.Debug("commit at the coordinator found anew failed; retrying", "err", err)
		bo.Wait(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		}
	}
}

// findCoordinator asks every bootstrap broker at once for the group's
// coordinator and returns the first answer: a stopped broker refuses at
// once, but a frozen one would hold a sequential search for a whole dial
// timeout.
func (s *Source) findCoordinator(ctx context.Context) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		addr string
		err  error
	}
	answers := make(chan answer, len(s.cfg.Brokers))
	for _, broker := range s.cfg.Brokers {
		go func() {
			addr, err := s.findCoordinatorAt(ctx, broker)
			answers <- answer{addr, err}
		}()
	}
	var errs []error
	for range s.cfg.Brokers {
		a := <-answers
		if a.err == nil {
			return a.addr, nil // cancel stops the others; answers is buffered
		}
		errs = append(errs, a.err)
	}
	return "", errors.Join(errs...)
}

// findCoordinatorAt asks one broker for the group's coordinator.
func (s *Source) findCoordinatorAt(ctx context.Context, broker string) (string, error) {
	res, err := rkafka.RoundTrip(ctx, s.fetchDl, broker, 2, &findcoordinator.Request{Key: s.cfg.GroupID})
	if err != nil {
		return "", fmt.Errorf("find coordinator at %s: %w", broker, err)
	}
	r := res.(*findcoordinator.Response)
	if r.ErrorCode != 0 {
		return "", fmt.Errorf("find coordinator at %s: %w", broker, kafka.Error(r.ErrorCode))
	}
	return net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port))), nil
}

// sendOffsetCommit sends one OffsetCommit (v5: no retention time, no
// instance id) to the coordinator at addr; the first partition error is
// returned as a kafka.Error, as gen.CommitOffsets does.
func (s *Source) sendOffsetCommit(ctx context.Context, addr string, generation int32, member string, offsets map[string]map[int]int64) error {
	req := &offsetcommit.Request{GroupID: s.cfg.GroupID, GenerationID: generation, MemberID: member}
	for topic, parts := range offsets {
		rt := offsetcommit.RequestTopic{Name: topic}
		for p, off := range parts {
			rt.Partitions = append(rt.Partitions, offsetcommit.RequestPartition{
				PartitionIndex: int32(p), CommittedOffset: off, CommittedLeaderEpoch: -1})
		}
		req.Topics = append(req.Topics, rt)
	}
	res, err := rkafka.RoundTrip(ctx, s.fetchDl, addr, 5, req)
	if err != nil {
		return fmt.Errorf("offset commit at %s: %w", addr, err)
	}
	for _, t := range res.(*offsetcommit.Response).Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return fmt.Errorf("offset commit at %s: %s/%d: %w", addr, t.Name, p.PartitionIndex, kafka.Error(p.ErrorCode))
			}
		}
	}
	return nil
}
