package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/runtime"
)

// Admin creates, describes and reads the topics a processor's settings
// name, connecting as the processor's clients do (brokers, TLS, SASL). The
// kgen command's `topics` subcommands use it.
type Admin struct {
	client    *kafka.Client
	transport *kafka.Transport
}

// NewAdmin returns an Admin for brokers. It does not connect yet.
func NewAdmin(brokers []string, sec Security, clientID string) (*Admin, error) {
	if len(brokers) == 0 {
		return nil, errors.New("no bootstrap servers")
	}
	t, err := Transport(sec, clientID)
	if err != nil {
		return nil, err
	}
	return &Admin{client: &kafka.Client{Addr: kafka.TCP(brokers...), Transport: t, Timeout: 30 * time.Second}, transport: t}, nil
}

// Close releases the Admin's connections.
func (a *Admin) Close() { a.transport.CloseIdleConnections() }

// TopicInfo describes one topic.
type TopicInfo struct {
	Name string
	// Exists is false for a topic the cluster does not have.
	Exists      bool
	Partitions  int
	Replication int
	// Err is a per-topic error other than "unknown topic".
	Err error
}

// Describe returns the state of each topic, in the order given.
func (a *Admin) Describe(ctx context.Context, topics []string) ([]TopicInfo, error) {
	res, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	byName := map[string]kafka.Topic{}
	for _, t := range res.Topics {
		byName[t.Name] = t
	}
	out := make([]TopicInfo, 0, len(topics))
	for _, name := range topics {
		info := TopicInfo{Name: name}
		t, ok := byName[name]
		switch {
		case !ok || errors.Is(t.Error, kafka.UnknownTopicOrPartition):
		case t.Error != nil:
			info.Err = t.Error
		default:
			info.Exists = true
			info.Partitions = len(t.Partitions)
			for _, p := range t.Partitions {
				info.Replication = max(info.Replication, len(p.Replicas))
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// Create creates topic with partitions and replication (-1 each: the
// broker's defaults). It returns false without error when the topic
// exists already.
func (a *Admin) Create(ctx context.Context, topic string, partitions, replication int) (bool, error) {
	res, err := a.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: replication,
	}}})
	if err != nil {
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
	switch err := res.Errors[topic]; {
	case err == nil:
		return true, nil
	case errors.Is(err, kafka.TopicAlreadyExists):
		return false, nil
	default:
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
}

// ReadRecord is one record that Read found.
type ReadRecord struct {
	Partition int
	Offset    int64
	Time      time.Time
	Key       []byte
	Value     []byte
	Headers   []runtime.Header
}

// Read hands fn the records of topic present when it starts, partition by
// partition in offset order, at most limit of them in all (0: no limit).
// Control records of transactions are not shown.
func (a *Admin) Read(ctx context.Context, topic string, limit int, fn func(ReadRecord) error) error {
	info, err := a.Describe(ctx, []string{topic})
	if err != nil {
		return err
	}
	if !info[0].Exists {
		if info[0].Err != nil {
			return fmt.Errorf("topic %s: %w", topic, info[0].Err)
		}
		return fmt.Errorf("topic %s does not exist", topic)
	}
	parts := make([]int, info[0].Partitions)
	for i := range parts {
		parts[i] = i
	}
	req := map[string][]kafka.OffsetRequest{}
	for _, p := range parts {
		req[topic] = append(req[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := a.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	po := offs.Topics[topic]
	slices.SortFunc(po, func(a, b kafka.PartitionOffsets) int { return a.Partition - b.Partition })
	seen := 0
	for _, p := range po {
		if p.Error != nil {
			return fmt.Errorf("list offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		for off := p.FirstOffset; off < p.LastOffset; {
			res, err := a.client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p.Partition, Offset: off,
				MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
			if err == nil {
				err = res.Error
			}
			if err != nil {
				return fmt.Errorf("fetch %s/%d at %d: %w", topic, p.Partition, off, err)
			}
			next := off
			for {
				r, err := res.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("read %s/%d at %d: %w", topic, p.Partition, next, err)
				}
				if r.Offset < off {
					continue
				}
				rec := ReadRecord{Partition: p.Partition, Offset: r.Offset, Time: r.Time}
				if rec.Key, err = readAllBytes(r.Key); err == nil {
					rec.Value, err = readAllBytes(r.Value)
				}
				if err != nil {
					return fmt.Errorf("read %s/%d at %d: %w", topic, p.Partition, r.Offset, err)
				}
				for _, h := range r.Headers {
					rec.Headers = append(rec.Headers, runtime.Header{Key: h.Key, Value: h.Value})
				}
				next = r.Offset + 1
				if err := fn(rec); err != nil {
					return err
				}
				if seen++; limit > 0 && seen >= limit {
					return nil
				}
			}
			if next == off { // only a control record or a gap here: step over it
				next = off + 1
			}
			off = next
		}
	}
	return nil
}

func readAllBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	defer b.Close()
	return io.ReadAll(b)
}
