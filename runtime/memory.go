package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// MemorySink is an in-memory Sink: it keeps every message and acknowledges
// it at once (or with the error Fail returns for it). It is meant for tests.
type MemorySink struct {
	mu   sync.Mutex
	msgs []Message
	// Fail, when set, decides the outcome of each message.
	Fail func(Message) error
}

// Write implements Sink.
func (s *MemorySink) Write(_ context.Context, msgs []Message) error {
	for _, m := range msgs {
		var err error
		if s.Fail != nil {
			err = s.Fail(m)
		}
		if err == nil {
			m.Headers = append([]Header(nil), m.Headers...)
			ack := m.Ack
			m.Ack = nil
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			ack.Done(nil)
			continue
		}
		m.Ack.Done(err)
	}
	return nil
}

// Close implements Sink.
func (s *MemorySink) Close(context.Context) error { return nil }

// Messages returns a copy of what was written so far.
func (s *MemorySink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// RunInMemory runs h over recs with in-memory inbound and outbound clients
// (no broker), following cfg's workers, ordering and failure policy, and
// returns what would have been written and committed. Records are grouped
// by Topic and Partition and submitted in the order given. cfg.Outbound
// names the outbound client ids (their client configs are ignored); with
// none, one client "out" is assumed. It returns when every record is
// finished or disposed of, or when ctx ends.
func RunInMemory(ctx context.Context, cfg Config, h Handler, recs []Record) (MemoryResult, error) {
	cfg = cfg.Defaults()
	if len(cfg.Inbound) == 0 {
		cfg.Inbound = []InboundConfig{{ID: "in", Name: "kafka_consumer"}} // a name only: no client is built
	}
	if len(cfg.Outbound) == 0 {
		cfg.Outbound = []OutboundConfig{{ID: "out", Name: "stdout"}} // a name only: no client is built
	}
	if cfg.Failure.OnFailure == DeadLetter && cfg.Failure.DeadLetterTopic == "" {
		cfg.Failure.DeadLetterTopic = "dead-letters"
	}
	sinks := map[string]Sink{}
	mem := map[string]*MemorySink{}
	var order []string
	for _, o := range cfg.Outbound {
		s := &MemorySink{}
		sinks[o.ID], mem[o.ID] = s, s
		order = append(order, o.ID)
	}
	dead := &MemorySink{}
	source := cfg.Inbound[0].ID
	e := newEngine(cfg, h, sinks, order, map[string]Sink{source: dead})
	var skipped []Record
	var skipMu sync.Mutex
	e.onSkip = func(r Record) {
		skipMu.Lock()
		skipped = append(skipped, r)
		skipMu.Unlock()
	}
	e.Start()

	type tp struct {
		topic     string
		partition int32
	}
	var parts []tp
	byPart := map[tp][]Record{}
	for _, r := range recs {
		k := tp{r.Topic, r.Partition}
		if _, ok := byPart[k]; !ok {
			parts = append(parts, k)
		}
		byPart[k] = append(byPart[k], r)
	}
	res := MemoryResult{Outputs: map[string][]Message{}, Committed: map[string]int64{}}
	lanes := make([]Lane, len(parts))
	var err error
	for i, p := range parts {
		lanes[i] = e.Open(source, p.topic, p.partition)
		if err = lanes[i].Submit(ctx, byPart[p]); err != nil {
			break
		}
	}
	for i, p := range parts {
		if next, ok := lanes[i].Drain(ctx); ok {
			res.Committed[fmt.Sprintf("%s/%d", p.topic, p.partition)] = next
		}
	}
	e.Stop(ctx)
	for id, s := range mem {
		res.Outputs[id] = s.Messages()
	}
	res.DeadLetters = dead.Messages()
	sort.SliceStable(skipped, func(i, j int) bool { return skipped[i].Offset < skipped[j].Offset })
	res.Skipped = skipped
	if err == nil {
		err = e.Err()
	}
	if err == nil {
		err = ctx.Err()
	}
	return res, err
}
