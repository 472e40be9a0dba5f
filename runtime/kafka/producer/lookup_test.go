package producer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// A producer whose output topic is deleted while it runs must not create
// it again when it reconnects (the test broker creates topics on a
// metadata request that allows it, as Kafka does by default): its writes
// fail until someone creates the topic.
func TestKafkaSinkDoesNotRecreateDeletedTopic(t *testing.T) {
	addr := kafkatest.Broker(t)
	// Not kafkatest.Topic: the test deletes the topic itself.
	topic := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	admin, err := rkafka.NewAdmin([]string{addr}, rkafka.Security{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Create(context.Background(), topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: topic, Acks: -1,
		AckTimeout: 4 * time.Second, RequestTimeout: 2 * time.Second}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	first := newAckLog(t, 1)
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("before"), Ack: first.Ack(0)}}); err != nil {
		t.Fatal(err)
	}
	first.Wait(30 * time.Second)
	if err, _ := first.Err(0); err != nil {
		t.Fatalf("write before the deletion: %v", err)
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Transport: tr}
	if _, err := client.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	after := newAckLog(t, 1)
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("after"), Ack: after.Ack(0)}}); err != nil {
		t.Fatal(err)
	}
	after.Wait(60 * time.Second)
	// A fresh transport: kafka-go's Transport answers metadata from its
	// cache, which still has the topic.
	fresh := &kafka.Transport{}
	defer fresh.CloseIdleConnections()
	md, err := (&kafka.Client{Addr: kafka.TCP(addr), Transport: fresh}).Metadata(context.Background(),
		&kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range md.Topics {
		if tp.Name == topic && tp.Error == nil {
			t.Fatalf("the deleted topic %s exists again (%d partitions): the producer created it; the write's outcome: %v",
				topic, len(tp.Partitions), func() error { e, _ := after.Err(0); return e }())
		}
	}
	if err, _ := after.Err(0); err == nil {
		t.Fatalf("the write to the deleted topic succeeded")
	}
}
