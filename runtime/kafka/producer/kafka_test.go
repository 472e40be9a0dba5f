package producer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
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
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: topic, Acks: -1,
		BatchBytes: 16384, Linger: 50 * time.Millisecond}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	const n = 500
	acks := newAckLog(t, n)
	msgs := make([]runtime.Message, n)
	for i := range msgs {
		msgs[i] = runtime.Message{Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "%04d-%s", i, strings.Repeat("v", 100)), Ack: acks.Ack(i)}
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	acks.Wait(60 * time.Second)
	for i := range n {
		if err, _ := acks.Err(i); err != nil {
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
	if err := s.Write(context.Background(), []runtime.Message{{Value: make([]byte, 5000), Ack: big.Ack(0)}}); err != nil {
		t.Fatal(err)
	}
	for big.Count() < 1 {
		time.Sleep(time.Millisecond)
	}
	if err, _ := big.Err(0); !errors.Is(err, runtime.ErrPermanent) || !runtime.IsPermanent(err) || !errors.Is(err, kafka.MessageSizeTooLarge) {
		t.Errorf("record too large alone: err = %v, want a permanent MESSAGE_TOO_LARGE", err)
	}
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("after"), Ack: big.Ack(1)}}); err != nil {
		t.Fatal(err)
	}
	big.Wait(30 * time.Second)
	if err, _ := big.Err(1); err != nil {
		t.Errorf("record after the too large one: %v", err)
	}
}

// loseEvery returns a loseResponse hook losing the responses whose
// number (from 0, in the order read) lose says, and the count lost.
func loseEvery(lose func(i int) bool) (func() bool, *atomic.Int64) {
	var n, lost atomic.Int64
	return func() bool {
		if lose(int(n.Add(1) - 1)) {
			lost.Add(1)
			return true
		}
		return false
	}, &lost
}

// endOffset is the next offset of topic's partition 0.
func endOffset(t *testing.T, addr, topic string) int64 {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second, Transport: tr}
	res, err := client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	po := res.Topics[topic][0]
	if po.Error != nil {
		t.Fatal(po.Error)
	}
	return po.LastOffset
}

// writeInOrder writes n numbered records to topic through s and checks
// that each is acknowledged and that the partition holds each once, in
// order.
func writeInOrder(t *testing.T, s *Sink, addr, topic string, n int) {
	t.Helper()
	acks := newAckLog(t, n)
	msgs := make([]runtime.Message, n)
	for i := range msgs {
		msgs[i] = runtime.Message{Key: fmt.Appendf(nil, "k%d", i%13), Value: fmt.Appendf(nil, "%06d", i), Ack: acks.Ack(i)}
	}
	for i := 0; i < n; i += 100 {
		if err := s.Write(context.Background(), msgs[i:min(i+100, n)]); err != nil {
			t.Fatal(err)
		}
	}
	acks.Wait(120 * time.Second)
	for i := range n {
		if err, _ := acks.Err(i); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if end := endOffset(t, addr, topic); end != int64(n) {
		t.Errorf("partition holds %d records, want %d: some were written twice", end, n)
	}
	got := kafkatest.ReadAll(t, addr, topic, n, 60*time.Second)
	for i, m := range got {
		if want := fmt.Sprintf("%06d", i); string(m.Value) != want {
			t.Fatalf("offset %d holds record %s, want %s: not written once, in order", i, m.Value, want)
		}
	}
}

// TestKafkaSinkIdempotentRetryWritesOnce: the response to a produce
// request is lost after the broker wrote the batch (the connection breaks
// while reading it), so the producer sends the batch again; with the
// idempotent producer (on by default with acks all) the broker recognises
// the retry and the records are written once. Before the idempotent
// producer the retry wrote them twice.
func TestKafkaSinkIdempotentRetryWritesOnce(t *testing.T) {
	addr := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 1)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: topic, Acks: -1}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	lose, lost := loseEvery(func(i int) bool { return i == 0 })
	s.prod.loseResponse = lose
	writeInOrder(t, s, addr, topic, 100)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lost.Load() != 1 {
		t.Errorf("%d responses lost, want 1", lost.Load())
	}
}

// TestKafkaSinkIdempotentOrderWithSeveralInFlight: small batches, five
// requests in flight per partition, and every seventh response lost (the
// connection breaks, failing the requests behind it too): every record is
// still written once and in order.
func TestKafkaSinkIdempotentOrderWithSeveralInFlight(t *testing.T) {
	addr := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 1)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// MaxRequestSize bounds how far a batch grows while the partition
	// cannot send (see partWriter.add): many batches, so several requests
	// are in flight.
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: topic, Acks: -1,
		BatchBytes: 600, MaxRequestSize: 2048, MaxInFlight: 5, Linger: time.Millisecond}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	lose, lost := loseEvery(func(i int) bool { return i%7 == 6 })
	s.prod.loseResponse = lose
	writeInOrder(t, s, addr, topic, 6000)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("peak requests in flight %d, responses lost %d", s.prod.peakInFlight.Load(), lost.Load())
	if peak := s.prod.peakInFlight.Load(); peak < 2 {
		t.Errorf("at most %d produce request in flight; the test needs several", peak)
	}
	if lost.Load() == 0 {
		t.Error("no response lost")
	}
}
