package consumer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	batchwire "github.com/kgen-dev/kgen/runtime/kafka/internal/wire"
)

// txnProducer writes transactional batches with kafka-go's protocol calls
// (kafka-go has no transactional producer of its own).
type txnProducer struct {
	t      *testing.T
	client *kafka.Client
	id     string
	pid    int64
	epoch  int16
	seq    int32
}

func newTxnProducer(t *testing.T, client *kafka.Client, id string) *txnProducer {
	t.Helper()
	var resp *kafka.InitProducerIDResponse
	var err error
	for range 50 { // the transaction coordinator may still be loading
		resp, err = client.InitProducerID(context.Background(), &kafka.InitProducerIDRequest{
			TransactionalID: id, TransactionTimeoutMs: 60_000})
		if err == nil && resp.Error == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || resp.Error != nil {
		t.Fatalf("init producer id %s: %v %v", id, err, resp.Error)
	}
	return &txnProducer{t: t, client: client, id: id, pid: int64(resp.Producer.ProducerID), epoch: int16(resp.Producer.ProducerEpoch)}
}

func (p *txnProducer) begin(topic string) {
	p.t.Helper()
	var last error
	for range 100 { // CONCURRENT_TRANSACTIONS while the previous end completes
		resp, err := p.client.AddPartitionsToTxn(context.Background(), &kafka.AddPartitionsToTxnRequest{
			TransactionalID: p.id, ProducerID: int(p.pid), ProducerEpoch: int(p.epoch),
			Topics: map[string][]kafka.AddPartitionToTxn{topic: {{Partition: 0}}}})
		if err != nil {
			p.t.Fatalf("add partitions to %s: %v", p.id, err)
		}
		last = nil
		for _, parts := range resp.Topics {
			for _, part := range parts {
				if part.Error != nil {
					last = part.Error
				}
			}
		}
		if !errors.Is(last, kafka.ConcurrentTransactions) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil {
		p.t.Fatalf("add partitions to %s: %v", p.id, last)
	}
}

// write appends one transactional batch of values to topic/0.
func (p *txnProducer) write(topic string, values ...string) {
	p.t.Helper()
	b := batchwire.NewBatch(0)
	for _, v := range values {
		m := runtime.Message{Key: []byte(p.id), Value: []byte(v)}
		b.Add(&m, time.Now().UnixMilli())
	}
	var scratch []byte
	sealed, err := b.Seal(nil, &scratch)
	if err != nil {
		p.t.Fatal(err)
	}
	raw := bytes.Clone(sealed)
	be := binary.BigEndian
	be.PutUint16(raw[batchwire.OffAttributes:], be.Uint16(raw[batchwire.OffAttributes:])|attrTransactional)
	be.PutUint64(raw[batchwire.OffProducerID:], uint64(p.pid))
	be.PutUint16(raw[batchwire.OffProducerEpoch:], uint16(p.epoch))
	be.PutUint32(raw[batchwire.OffProducerEpoch+2:], uint32(p.seq))
	fixCRC(raw[batchwire.SizeLen:])
	p.seq += int32(len(values))
	for range 50 { // a new topic's leader may not be known yet; a resent batch is deduplicated by its sequence
		var resp *kafka.ProduceResponse
		resp, err = p.client.RawProduce(context.Background(), &kafka.RawProduceRequest{
			Topic: topic, Partition: 0, RequiredAcks: kafka.RequireAll, TransactionalID: p.id,
			RawRecords: protocol.RawRecordSet{Reader: bytes.NewReader(raw)}})
		if err == nil && resp.Error != nil {
			err = resp.Error
		}
		if !errors.Is(err, kafka.NotLeaderForPartition) && !errors.Is(err, kafka.LeaderNotAvailable) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("transactional produce by %s: %v", p.id, err)
	}
}

func (p *txnProducer) end(commit bool) {
	p.t.Helper()
	resp, err := p.client.EndTxn(context.Background(), &kafka.EndTxnRequest{
		TransactionalID: p.id, ProducerID: int(p.pid), ProducerEpoch: int(p.epoch), Committed: commit})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		p.t.Fatalf("end transaction of %s: %v", p.id, err)
	}
}

// TestKafkaReadCommittedInterleavedAborts: two transactional producers
// interleave on one partition; the transaction that started first aborts
// last, so the broker lists the aborted transactions out of first-offset
// order. read_committed delivers exactly the committed records, and the
// committed offset reaches the end of the log (past the trailing marker):
// lag 0.
func TestKafkaReadCommittedInterleavedAborts(t *testing.T) {
	addr := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 1)
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second, Transport: tr}
	a := newTxnProducer(t, client, topic+"-a")
	b := newTxnProducer(t, client, topic+"-b")

	a.begin(topic)
	b.begin(topic)
	a.write(topic, "a1-aborted", "a2-aborted") // A's transaction starts first...
	b.write(topic, "b1-aborted")
	a.write(topic, "a3-aborted")
	b.write(topic, "b2-aborted")
	b.end(false)
	a.end(false) // ...and aborts last
	a.begin(topic)
	b.begin(topic)
	a.write(topic, "a4-kept")
	b.write(topic, "b3-aborted")
	a.write(topic, "a5-kept")
	b.end(false)
	a.end(true) // the log ends with a commit marker

	var mu sync.Mutex
	var got []string
	group := "g-" + topic
	cfg := runtime.Config{Workers: 2, Logger: quietLogger(),
		Inbound: []runtime.InboundConfig{{ID: "in", Name: Name, Config: &Config{
			Brokers: []string{addr}, GroupID: group, Topics: []string{topic}, AutoOffsetReset: "earliest",
			IsolationLevel: "read_committed", CommitInterval: 100 * time.Millisecond, MaxWait: 100 * time.Millisecond}}},
		Outbound: []runtime.OutboundConfig{{ID: "out", Name: filewriter.Name, Config: &filewriter.Config{Path: t.TempDir() + "/out", Framing: "lines"}}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- runtime.Run(ctx, cfg, func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
			mu.Lock()
			got = append(got, string(r.Value))
			mu.Unlock()
			return nil, nil
		})
	}()
	// 8 records and 4 markers: the log ends at 12 once the coordinator
	// wrote the last marker (EndTxn returns before it does).
	const end = 12
	deadline := time.Now().Add(60 * time.Second)
	for logEnd(t, client, topic) != end || kafkatest.CommittedOffsets(t, addr, group, topic)[0] != end {
		if time.Now().After(deadline) {
			cancel()
			<-errc
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("log end %d, committed %v within 60s, want both %d (lag 0, past the trailing marker); read %v",
				logEnd(t, client, topic), kafkatest.CommittedOffsets(t, addr, group, topic), end, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if want := []string{"a4-kept", "a5-kept"}; !slices.Equal(got, want) {
		t.Fatalf("read_committed delivered %v, want %v", got, want)
	}
}

func logEnd(t *testing.T, client *kafka.Client, topic string) int64 {
	t.Helper()
	resp, err := client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[topic][0]
	if p.Error != nil {
		t.Fatal(p.Error)
	}
	return p.LastOffset
}

// TestKafkaReadCommittedLatestStartsAtLSO: under read_committed, a group
// starting at latest starts at the last stable offset: the records of a
// transaction open at that moment are delivered once it commits (starting
// at the high watermark would skip them).
func TestKafkaReadCommittedLatestStartsAtLSO(t *testing.T) {
	addr := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 1)
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second, Transport: tr}
	a := newTxnProducer(t, client, topic+"-a")
	a.begin(topic)
	a.write(topic, "open-1", "open-2") // high watermark 2, last stable offset 0

	var mu sync.Mutex
	var got []string
	group := "g-" + topic
	cfg := runtime.Config{Workers: 2, Logger: quietLogger(),
		Inbound: []runtime.InboundConfig{{ID: "in", Name: Name, Config: &Config{
			Brokers: []string{addr}, GroupID: group, Topics: []string{topic}, AutoOffsetReset: "latest",
			IsolationLevel: "read_committed", CommitInterval: 100 * time.Millisecond, MaxWait: 100 * time.Millisecond}}},
		Outbound: []runtime.OutboundConfig{{ID: "out", Name: filewriter.Name, Config: &filewriter.Config{Path: t.TempDir() + "/out", Framing: "lines"}}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- runtime.Run(ctx, cfg, func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
			mu.Lock()
			got = append(got, string(r.Value))
			mu.Unlock()
			return nil, nil
		})
	}()
	defer func() {
		cancel()
		<-errc
	}()
	waitOffset := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			off, ok := kafkatest.CommittedOffsets(t, addr, group, topic)[0]
			if ok && off == want {
				return
			}
			if ok && off > want {
				t.Fatalf("committed %d, want %d", off, want)
			}
			if time.Now().After(deadline) {
				t.Fatalf("committed %v within 60s, want %d", kafkatest.CommittedOffsets(t, addr, group, topic), want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitOffset(0) // the start position: the last stable offset, not the high watermark 2
	a.end(true)
	waitOffset(3) // both records and the commit marker
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"open-1", "open-2"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}
