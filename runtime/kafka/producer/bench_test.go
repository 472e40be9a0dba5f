package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/initproducerid"
	meta "github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
)

// nullBroker answers every request at once and reads produce requests
// without decoding them: what is left is the producer's own cost.
type nullBroker struct{ partitions int }

func (f nullBroker) RoundTrip(_ context.Context, _ net.Addr, req protocol.Message) (protocol.Message, error) {
	switch r := req.(type) {
	case *meta.Request:
		res := &meta.Response{Brokers: []meta.ResponseBroker{{NodeID: 1, Host: "127.0.0.1", Port: 1}}}
		for _, name := range r.TopicNames {
			t := meta.ResponseTopic{Name: name}
			for p := range f.partitions {
				t.Partitions = append(t.Partitions, meta.ResponsePartition{PartitionIndex: int32(p), LeaderID: 1})
			}
			res.Topics = append(res.Topics, t)
		}
		return res, nil
	case *initproducerid.Request:
		return &initproducerid.Response{ProducerID: 7}, nil
	case *rawproduce.Request:
		rp := &r.Topics[0].Partitions[0]
		if _, err := io.Copy(io.Discard, rp.RecordSet.Reader); err != nil {
			return nil, err
		}
		return &produce.Response{Topics: []produce.ResponseTopic{{Topic: r.Topics[0].Topic,
			Partitions: []produce.ResponsePartition{{Partition: rp.Partition}}}}}, nil
	}
	return nil, errors.New("null broker: unexpected request")
}

// benchAcker counts acknowledgements and signals when want were seen.
type benchAcker struct {
	n, want atomic.Int64
	failed  atomic.Int64
	done    chan struct{}
}

func (c *benchAcker) Done(err error) {
	if err != nil {
		c.failed.Add(1)
	}
	if c.n.Add(1) == c.want.Load() {
		close(c.done)
	}
}

// BenchmarkKafkaSinkWrite is the producer's CPU per record without a
// broker: 100 B records with 10 B keys over 6 partitions, written 1000 per
// Write call, batched, sealed, sent to a broker that answers at once, and
// acknowledged; cpu-ns/op is the process's CPU time per record, all
// goroutines and the GC included.
func BenchmarkKafkaSinkWrite(b *testing.B) {
	for _, acks := range []int{1, -1} {
		b.Run(fmt.Sprintf("acks=%d", acks), func(b *testing.B) {
			s, err := newSink(Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Acks: acks},
				quietLogger(), func(kafka.RoundTripper) kafka.RoundTripper { return nullBroker{partitions: 6} })
			if err != nil {
				b.Fatal(err)
			}
			benchSinkWrite(b, s)
		})
	}
}

// BenchmarkKafkaSinkWriteBroker is BenchmarkKafkaSinkWrite against the
// real broker (its leader connections included); cpu-ns/op counts this
// process only, not the broker.
func BenchmarkKafkaSinkWriteBroker(b *testing.B) {
	addr := kafkatest.Broker(b)
	for _, acks := range []int{1, -1} {
		b.Run(fmt.Sprintf("acks=%d", acks), func(b *testing.B) {
			topic := kafkatest.Topic(b, addr, 6)
			s, err := NewSink(Config{Brokers: []string{addr}, Topic: topic, Acks: acks}, quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			benchSinkWrite(b, s)
		})
	}
}

func benchSinkWrite(b *testing.B, s *Sink) {
	const per = 1000
	msgs := make([]runtime.Message, per)
	keys := make([][]byte, per)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%06d", i*7919%100000)
	}
	value := make([]byte, 100)
	ca := &benchAcker{done: make(chan struct{})}
	n := (b.N + per - 1) / per * per
	ca.want.Store(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for sent := 0; sent < n; sent += per {
		for i := range msgs {
			msgs[i] = runtime.Message{Key: keys[i], Value: value, Ack: ca}
		}
		if err := s.Write(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	<-ca.done
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
	if f := ca.failed.Load(); f > 0 {
		b.Fatalf("%d records failed", f)
	}
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
