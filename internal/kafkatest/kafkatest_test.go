package kafkatest

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestRoundTrip proves the harness end to end against a real broker: topic
// creation, keyed produce, read-back with per-partition order, and offsets
// of a group that never committed.
func TestRoundTrip(t *testing.T) {
	addr := Broker(t)
	topic := Topic(t, addr, 3)

	const n, keys = 1000, 50
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Key:   []byte(fmt.Sprintf("key-%d", i%keys)),
			Value: []byte(strconv.Itoa(i)),
		}
	}
	start := time.Now()
	Produce(t, addr, topic, msgs)
	t.Logf("produced %d messages in %s", n, time.Since(start))

	start = time.Now()
	got := ReadAll(t, addr, topic, n, 30*time.Second)
	t.Logf("read %d messages in %s", len(got), time.Since(start))
	if len(got) != n {
		t.Fatalf("read %d messages, want %d", len(got), n)
	}

	// Every value exactly once; every key on a single partition; within a
	// partition, offsets consecutive from 0 and values in produce order
	// (one synchronous write keeps the order per partition).
	seen := make(map[string]bool, n)
	keyPartition := make(map[string]int)
	perPartition := make(map[int]int)
	lastValue := map[int]int{}
	for _, m := range got {
		v, err := strconv.Atoi(string(m.Value))
		if err != nil {
			t.Fatalf("bad value %q", m.Value)
		}
		if seen[string(m.Value)] {
			t.Fatalf("value %d read twice", v)
		}
		seen[string(m.Value)] = true
		if want := fmt.Sprintf("key-%d", v%keys); string(m.Key) != want {
			t.Errorf("value %d has key %q, want %q", v, m.Key, want)
		}
		if p, ok := keyPartition[string(m.Key)]; ok && p != m.Partition {
			t.Errorf("key %q on partitions %d and %d", m.Key, p, m.Partition)
		}
		keyPartition[string(m.Key)] = m.Partition
		if m.Offset != int64(perPartition[m.Partition]) {
			t.Errorf("partition %d: offset %d at position %d", m.Partition, m.Offset, perPartition[m.Partition])
		}
		if last, ok := lastValue[m.Partition]; ok && v <= last {
			t.Errorf("partition %d: value %d after %d, want increasing", m.Partition, v, last)
		}
		lastValue[m.Partition] = v
		perPartition[m.Partition]++
	}
	if len(perPartition) != 3 {
		t.Errorf("messages on %d partitions, want 3 (counts %v)", len(perPartition), perPartition)
	}
	t.Logf("per-partition counts: %v", perPartition)

	offsets := CommittedOffsets(t, addr, "kgen-unknown-group-"+topic, topic)
	if len(offsets) != 3 {
		t.Errorf("CommittedOffsets returned %d partitions, want 3: %v", len(offsets), offsets)
	}
	for p, off := range offsets {
		if off != -1 {
			t.Errorf("unknown group: partition %d committed offset %d, want -1", p, off)
		}
	}
}

// TestProduceExplicitPartitions checks that messages setting Partition go
// exactly there, and that a commit by a real group shows in
// CommittedOffsets.
func TestProduceExplicitPartitions(t *testing.T) {
	addr := Broker(t)
	topic := Topic(t, addr, 3)

	var msgs []kafka.Message
	for i := range 30 {
		msgs = append(msgs, kafka.Message{Key: []byte("same-key"), Value: []byte(strconv.Itoa(i)), Partition: i % 3})
	}
	Produce(t, addr, topic, msgs)
	got := ReadAll(t, addr, topic, len(msgs), 30*time.Second)
	if len(got) != len(msgs) {
		t.Fatalf("read %d messages, want %d", len(got), len(msgs))
	}
	for _, m := range got {
		v, _ := strconv.Atoi(string(m.Value))
		if m.Partition != v%3 {
			t.Errorf("value %d on partition %d, want %d", v, m.Partition, v%3)
		}
	}

	group := "kgen-test-group-" + topic
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{addr}, GroupID: group, Topic: topic,
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	ctx := t.Context()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatal(err)
	}
	offsets := CommittedOffsets(t, addr, group, topic)
	if offsets[m.Partition] != m.Offset+1 {
		t.Errorf("committed offsets %v, want %d on partition %d", offsets, m.Offset+1, m.Partition)
	}
}
