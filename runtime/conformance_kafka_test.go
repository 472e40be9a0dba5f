package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/clienttest"
)

// TestKafkaConformance runs the sink conformance suite on the Kafka
// producer against the real broker (a fresh three-partition topic per
// subtest, acks=all): durable is "below the partition's high watermark".
// For the failure subtests the producer's requests go through a round
// tripper that fails produce requests: a connection reset (transient; three
// attempts, then the producer gives up) or TOPIC_AUTHORIZATION_FAILED
// (permanent).
func TestKafkaConformance(t *testing.T) {
	addr := kafkatest.Broker(t)
	clienttest.TestSink(t, func(t *testing.T, o clienttest.SinkOptions) clienttest.SinkSetup {
		topic := kafkatest.Topic(t, addr, 3)
		cfg := runtime.KafkaProducerConfig{Brokers: []string{addr}, Topic: topic, Acks: -1}
		log := slog.New(slog.DiscardHandler)
		var (
			s     *runtime.KafkaSink
			err   error
			fault atomic.Pointer[error]
		)
		if o.Faults {
			cfg.MaxAttempts = 3
			s, err = runtime.NewKafkaSinkVia(cfg, log, func(rt kafka.RoundTripper) kafka.RoundTripper {
				return faultRoundTripper{rt, &fault}
			})
		} else {
			s, err = runtime.NewKafkaSink(cfg, log)
		}
		if err != nil {
			t.Fatal(err)
		}
		inject := func(err error) func() func() {
			return func() func() {
				fault.Store(&err)
				return func() { fault.Store(nil) }
			}
		}
		return clienttest.SinkSetup{
			Sink:          s,
			ReadBack:      func(t testing.TB) [][][]byte { return readTopic(t, addr, topic, 3) },
			FailTransient: inject(&net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}),
			FailPermanent: inject(kafka.TopicAuthorizationFailed),
		}
	})
}

// faultRoundTripper fails every produce request with *fault while set.
type faultRoundTripper struct {
	kafka.RoundTripper
	fault *atomic.Pointer[error]
}

func (f faultRoundTripper) RoundTrip(ctx context.Context, addr net.Addr, req protocol.Message) (protocol.Message, error) {
	if err := f.fault.Load(); err != nil && req.ApiKey() == protocol.Produce {
		return nil, *err
	}
	return f.RoundTripper.RoundTrip(ctx, addr, req)
}

// readTopic returns the values of each of topic's partitions up to its
// high watermark when called, in offset order.
func readTopic(t testing.TB, addr, topic string, partitions int) [][][]byte {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second, Transport: tr}
	var reqs []kafka.OffsetRequest
	for p := range partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	// A topic just created may answer NOT_LEADER for a moment.
	var res *kafka.ListOffsetsResponse
	for attempt := 0; ; attempt++ {
		var err error
		res, err = client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{
			Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			t.Fatalf("list offsets of %s: %v", topic, err)
		}
		var perr error
		for _, po := range res.Topics[topic] {
			if po.Error != nil {
				perr = fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
			}
		}
		if perr == nil {
			break
		}
		if attempt == 100 || !errors.Is(perr, kafka.NotLeaderForPartition) && !errors.Is(perr, kafka.LeaderNotAvailable) &&
			!errors.Is(perr, kafka.UnknownTopicOrPartition) {
			t.Fatal(perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	parts := make([][][]byte, partitions)
	for _, po := range res.Topics[topic] {
		if po.LastOffset == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: po.Partition,
			MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, po.Partition, err)
			}
			parts[po.Partition] = append(parts[po.Partition], m.Value)
			if m.Offset >= po.LastOffset-1 {
				break
			}
		}
		r.Close()
	}
	return parts
}
