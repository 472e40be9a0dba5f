package runtime_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/clienttest"
)

// TestKafkaSourceConformance runs the source conformance suite on the
// Kafka consumer against the broker: a fresh three-partition topic, a
// fresh group, offsets committed every 50ms and read back from the group
// coordinator.
func TestKafkaSourceConformance(t *testing.T) {
	addr := kafkatest.Broker(t)
	clienttest.TestSource(t, 3, func(t *testing.T, input [][][]byte) clienttest.SourceSetup {
		topic := kafkatest.Topic(t, addr, len(input))
		var msgs []kafka.Message
		for p, vals := range input {
			for _, v := range vals {
				msgs = append(msgs, kafka.Message{Partition: p, Value: v})
			}
		}
		kafkatest.Produce(t, addr, topic, msgs)
		group := topic + "-group"
		s, err := runtime.NewKafkaSource("in", runtime.KafkaConsumerConfig{Brokers: []string{addr}, GroupID: group,
			Topics: []string{topic}, AutoOffsetReset: "earliest", CommitInterval: 50 * time.Millisecond},
			5*time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return clienttest.SourceSetup{
			Source: s,
			Committed: func(t testing.TB) map[clienttest.Partition]int64 {
				out := map[clienttest.Partition]int64{}
				for p, off := range kafkatest.CommittedOffsets(t, addr, group, topic) {
					if off >= 0 {
						out[clienttest.Partition{Topic: topic, Partition: int32(p)}] = off
					}
				}
				return out
			},
		}
	})
}
