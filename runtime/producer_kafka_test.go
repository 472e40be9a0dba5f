package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/kgen-dev/kgen/internal/kafkatest"
)

// configTopic creates a one-partition topic with the given topic configs
// on addr, deleted when the test ends.
func configTopic(t *testing.T, addr string, configs map[string]string) string {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + hex.EncodeToString(suffix)
	var entries []kafka.ConfigEntry
	for k, v := range configs {
		entries = append(entries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: name, NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: entries}}})
	if err == nil {
		err = res.Errors[name]
	}
	if err != nil {
		t.Fatalf("creating topic %s: %v", name, err)
	}
	t.Cleanup(func() {
		tr := &kafka.Transport{}
		defer tr.CloseIdleConnections()
		client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second, Transport: tr}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
	})
	for {
		m, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
		if err == nil && len(m.Topics) == 1 && m.Topics[0].Error == nil && len(m.Topics[0].Partitions) == 1 &&
			m.Topics[0].Partitions[0].Leader.Host != "" {
			return name
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s has no leader: %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestKafkaSinkSplitsBatchesTheBrokerFindsTooLarge: an output topic whose
// max.message.bytes is below the producer's batch size refuses whole
// batches (MESSAGE_TOO_LARGE); the producer splits them and every record
// is written once, in order. A record too large on its own fails
// permanently; the partition goes on after it. Before the fix every record
// of a refused batch failed permanently.
func TestKafkaSinkSplitsBatchesTheBrokerFindsTooLarge(t *testing.T) {
	addr := kafkatest.Broker(t)
	topic := configTopic(t, addr, map[string]string{"max.message.bytes": "2000"})
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := NewKafkaSink(KafkaProducerConfig{Brokers: []string{addr}, Topic: topic, Acks: -1,
		BatchBytes: 16384, Linger: 50 * time.Millisecond}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	const n = 500
	acks := newAckLog(t, n)
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "%04d-%s", i, strings.Repeat("v", 100)), Ack: acks.ack(i)}
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	acks.wait(60 * time.Second)
	for i := range n {
		if err, _ := acks.err(i); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	got := kafkatest.ReadAll(t, addr, topic, n, 30*time.Second)
	if len(got) != n {
		t.Fatalf("topic holds %d records, want %d", len(got), n)
	}
	for i, m := range got {
		if want := fmt.Sprintf("%04d-", i); !strings.HasPrefix(string(m.Value), want) {
			t.Fatalf("record at offset %d is %.5q, want %q: not written once, in order", i, m.Value, want)
		}
	}

	// Alone too large: permanent; what follows is written.
	big := newAckLog(t, 2)
	if err := s.Write(context.Background(), []Message{{Value: make([]byte, 5000), Ack: big.ack(0)}}); err != nil {
		t.Fatal(err)
	}
	for big.count() < 1 {
		time.Sleep(time.Millisecond)
	}
	if err, _ := big.err(0); !errors.Is(err, ErrPermanent) || !IsPermanent(err) || !errors.Is(err, kafka.MessageSizeTooLarge) {
		t.Errorf("record too large alone: err = %v, want a permanent MESSAGE_TOO_LARGE", err)
	}
	if err := s.Write(context.Background(), []Message{{Value: []byte("after"), Ack: big.ack(1)}}); err != nil {
		t.Fatal(err)
	}
	big.wait(30 * time.Second)
	if err, _ := big.err(1); err != nil {
		t.Errorf("record after the too large one: %v", err)
	}
}
