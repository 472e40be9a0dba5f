package runtime_test

// Real-broker tests of the Kafka consumer's start positions, partition
// changes and readiness.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
)

// TestKafkaNewPartitionsConsumed: partitions added to a consumed topic are
// assigned and read while the processor runs, without any other member
// joining or leaving.
func TestKafkaNewPartitionsConsumed(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 1), kafkatest.Topic(t, addr, 1)
	group := "g-" + in
	cfg := kafkaConfig(addr, group, []string{in}, out, 2, testLogger(t))
	cfg.Inbound[0].Config.(*runtime.KafkaConsumerConfig).PartitionWatchInterval = 500 * time.Millisecond
	stop := runInProcess(t, cfg, passthrough)
	defer stop()

	first := keyedMessages(100, 10, "a")
	kafkatest.Produce(t, addr, in, first)
	waitCommitted(t, addr, group, in, len(first), 60*time.Second)

	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second, Transport: tr}
	resp, err := client.CreatePartitions(context.Background(), &kafka.CreatePartitionsRequest{
		Topics: []kafka.TopicPartitionsConfig{{Name: in, Count: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Errors[in]; err != nil {
		t.Fatal(err)
	}
	second := keyedMessages(300, 30, "b")
	for i := range second {
		second[i].Partition = i % 3 // the new partitions 1 and 2 get most
	}
	kafkatest.Produce(t, addr, in, second)
	waitCommitted(t, addr, group, in, len(first)+len(second), 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := readEverything(t, addr, out)
	verify(t, append(first, second...), got)
}

// TestKafkaIdleLatestHandover: a member that starts at latest on an idle
// partition commits that start position, so records produced while the
// partition changes hands are read by the next owner instead of being
// skipped by its own "latest".
func TestKafkaIdleLatestHandover(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 1), kafkatest.Topic(t, addr, 1)
	old := keyedMessages(50, 5, "old")
	kafkatest.Produce(t, addr, in, old) // before any member: never read
	group := "g-" + in
	cfg := kafkaConfig(addr, group, []string{in}, out, 2, testLogger(t))
	cfg.Inbound[0].Config.(*runtime.KafkaConsumerConfig).AutoOffsetReset = "latest"
	stop := runInProcess(t, cfg, passthrough)
	waitCommitted(t, addr, group, in, len(old), 60*time.Second) // the start position
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	handover := keyedMessages(100, 10, "h") // nobody owns the partition now
	kafkatest.Produce(t, addr, in, handover)
	stop = runInProcess(t, cfg, passthrough)
	defer stop()
	waitCommitted(t, addr, group, in, len(old)+len(handover), 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := readEverything(t, addr, out)
	for _, m := range got {
		if strings.HasPrefix(string(m.Key), "old") {
			t.Fatalf("record %q from before the first start was read", m.Value)
		}
	}
	verify(t, handover, got)
}
