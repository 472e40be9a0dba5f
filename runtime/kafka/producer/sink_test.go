package producer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"go.uber.org/goleak"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

func TestKafkaSinkOptions(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []struct {
		name     string
		cfg      Config
		acks     kafka.RequiredAcks
		balancer kafka.Balancer
		codec    kafka.Compression
	}{
		{"defaults", Config{}, kafka.RequireNone, &kafka.Murmur2Balancer{}, 0},
		{"all", Config{Acks: -1, Partitioner: "crc32", Compression: "zstd"}, kafka.RequireAll, &kafka.CRC32Balancer{}, kafka.Zstd},
		{"one", Config{Acks: 1, Partitioner: "fnv1a", Compression: "lz4"}, kafka.RequireOne, &kafka.Hash{}, kafka.Lz4},
		{"round robin", Config{Acks: 1, Partitioner: "round_robin", Compression: "gzip",
			BatchSize: 7, BatchBytes: 1000, Linger: time.Millisecond, MaxAttempts: 2, RequestTimeout: 3 * time.Second},
			kafka.RequireOne, &kafka.RoundRobin{}, kafka.Gzip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Brokers = []string{"127.0.0.1:1"}
			s, err := NewSink(cfg, sinkTestLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			p := s.prod
			want := func(name string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			want("RequiredAcks", p.acks, tt.acks)
			want("Balancer", reflect.TypeOf(p.balancer), reflect.TypeOf(tt.balancer))
			want("Compression", p.codec, tt.codec.Codec())
			want("Topic", p.cfg.Topic, "")
			want("Transport", p.client.Transport, kafka.RoundTripper(s.transport))
			want("BatchSize", p.cfg.BatchSize, tt.cfg.BatchSize)
			want("BatchBytes", p.cfg.BatchBytes, orDefault(tt.cfg.BatchBytes, defaultProducerBatchBytes))
			want("MaxRequestSize", p.cfg.MaxRequestSize, orDefault(tt.cfg.MaxRequestSize, defaultProducerMaxRequestSize))
			want("MaxInFlight", p.cfg.MaxInFlight, orDefault(tt.cfg.MaxInFlight, defaultProducerMaxInFlight))
			want("Linger", p.cfg.Linger, orDefault(tt.cfg.Linger, defaultProducerLinger))
			want("MaxAttempts", p.cfg.MaxAttempts, tt.cfg.MaxAttempts)
			want("RequestTimeout", p.cfg.RequestTimeout, orDefault(tt.cfg.RequestTimeout, defaultProducerRequestTimeout))
			if p.client.Addr == nil {
				t.Error("client Addr not set")
			}
		})
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func TestKafkaSinkConfigErrors(t *testing.T) {
	b := []string{"127.0.0.1:1"}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no brokers"},
		{Config{Brokers: b, Acks: 2}, "acks 2"},
		{Config{Brokers: b, Compression: "brotli"}, `compression "brotli"`},
		{Config{Brokers: b, Partitioner: "sticky"}, `partitioner "sticky"`},
		{Config{Brokers: b, Security: rkafka.Security{Protocol: "SASL_SSL"}}, "no sasl mechanism"},
	}
	for _, tt := range tests {
		if _, err := NewSink(tt.cfg, sinkTestLogger()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want it to contain %q", tt.cfg, err, tt.want)
		}
	}
}

func TestKafkaSinkRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{protocol.NewErrNoLeader("t", 0), true},
		{kafka.NotLeaderForPartition, true},
		{kafka.LeaderNotAvailable, true},
		{kafka.UnknownTopicOrPartition, true},
		{kafka.RequestTimedOut, true},
		{kafka.NotEnoughReplicas, true},
		{fmt.Errorf("produce: %w", syscall.ECONNREFUSED), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNRESET}, true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{ErrAckTimeout, true},
		{runtime.ErrClosed, true},
		{errors.New("something new"), true},
		{kafka.MessageSizeTooLarge, false},
		{kafka.MessageTooLargeError{}, false},
		{kafka.InvalidTopic, false},
		{kafka.TopicAuthorizationFailed, false},
		{kafka.SASLAuthenticationFailed, false},
		{fmt.Errorf("wrapped: %w", kafka.RecordListTooLarge), false},
		{errNoTopic, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestKafkaSinkUnreachableBroker: with nothing listening, writes fail
// promptly with a retryable error, and Close leaves no goroutine behind.
func TestKafkaSinkUnreachableBroker(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: "t", Acks: -1}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Write(ctx, []runtime.Message{{Value: []byte("a"), Ack: acks.Ack(0)}, {Value: []byte("b"), Ack: acks.Ack(1)}}); err != nil {
		t.Fatal(err)
	}
	acks.Wait(15 * time.Second)
	for i := range 2 {
		if err, _ := acks.Err(i); err == nil || runtime.IsPermanent(err) {
			t.Errorf("message %d: err = %v, want a retryable error", i, err)
		}
	}
	if err := s.Ready(); err == nil {
		t.Error("Ready = nil after failed writes")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaSinkRoundTrip sends 10k keyed messages with headers through a
// real broker: every ack is nil, and reading the topic back gives the same
// keys, values and headers, each key in one partition (the murmur2 one, as
// the Java client would choose) and in the order written. It runs for
// every compression codec (the broker checks each batch's CRC and
// decompresses it) and with batches closed by bytes rather than records.
func TestKafkaSinkRoundTrip(t *testing.T) {
	addr := kafkatest.Broker(t)
	tests := []struct {
		compression string
		batchBytes  int64
	}{
		{"none", 0}, {"gzip", 0}, {"snappy", 0}, {"lz4", 0}, {"zstd", 0},
		{"none", 4096}, {"zstd", 4096},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.compression, tt.batchBytes), func(t *testing.T) {
			testKafkaSinkRoundTrip(t, addr, tt.compression, tt.batchBytes)
		})
	}
}

func testKafkaSinkRoundTrip(t *testing.T, addr, compression string, batchBytes int64) {
	const partitions, n, keys = 4, 10_000, 100
	topic := kafkatest.Topic(t, addr, partitions)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	s, err := NewSink(Config{
		Brokers: []string{addr}, Topic: topic, Acks: -1, Linger: 5 * time.Millisecond,
		BatchSize: 500, BatchBytes: batchBytes, Compression: compression,
		RequestTimeout: 10 * time.Second, AckTimeout: 30 * time.Second,
	}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog(t, n)
	sent := make([]runtime.Message, n)
	for i := range sent {
		sent[i] = runtime.Message{
			Key:   fmt.Appendf(nil, "key-%03d", i%keys),
			Value: fmt.Appendf(nil, "value-%05d", i),
			Headers: []runtime.Header{
				{Key: "seq", Value: fmt.Appendf(nil, "%d", i)},
				{Key: "empty", Value: []byte{}},
				{Key: "seq", Value: []byte("duplicate names are kept")},
			},
			Ack: acks.Ack(i),
		}
	}
	start := time.Now()
	for i := 0; i < n; i += 100 {
		if err := s.Write(context.Background(), sent[i:i+100]); err != nil {
			t.Fatal(err)
		}
	}
	acks.Wait(60 * time.Second)
	t.Logf("%d messages acknowledged in %s", n, time.Since(start))
	for i := range n {
		if err, _ := acks.Err(i); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready = %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	got := kafkatest.ReadAll(t, addr, topic, n, 60*time.Second)
	if len(got) != n {
		t.Fatalf("read %d messages, want %d", len(got), n)
	}
	byValue := map[string]runtime.Message{}
	for _, m := range sent {
		byValue[string(m.Value)] = m
	}
	partitionOf := map[string]int{}
	lastSeq := map[string]int{}
	murmur := &kafka.Murmur2Balancer{}
	for _, m := range got {
		want, ok := byValue[string(m.Value)]
		if !ok {
			t.Fatalf("unexpected value %q", m.Value)
		}
		delete(byValue, string(m.Value))
		if !bytes.Equal(m.Key, want.Key) {
			t.Errorf("%s: key %q, want %q", m.Value, m.Key, want.Key)
		}
		if !reflect.DeepEqual(normHeaders(m.Headers), normHeaders(want.Headers)) {
			t.Errorf("%s: headers %q, want %q", m.Value, m.Headers, want.Headers)
		}
		key := string(m.Key)
		if p, seen := partitionOf[key]; seen && p != m.Partition {
			t.Errorf("key %s in partitions %d and %d", key, p, m.Partition)
		}
		partitionOf[key] = m.Partition
		if p := murmur.Balance(kafka.Message{Key: m.Key}, 0, 1, 2, 3); p != m.Partition {
			t.Errorf("key %s in partition %d, murmur2 says %d", key, m.Partition, p)
		}
		var seq int
		fmt.Sscanf(string(m.Value), "value-%d", &seq)
		if last, seen := lastSeq[key]; seen && seq < last {
			t.Errorf("key %s: %d after %d", key, seq, last)
		}
		lastSeq[key] = seq
		if m.Time.Before(start.Add(-time.Minute)) {
			t.Errorf("%s: timestamp %s", m.Value, m.Time)
		}
	}
	if len(partitionOf) != keys {
		t.Errorf("%d keys read, want %d", len(partitionOf), keys)
	}
}

func normHeaders(hs []runtime.Header) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Key + "=" + string(h.Value)
	}
	return out
}

// TestKafkaSinkUnknownTopic: a write to a topic that does not exist fails
// its acks (retryable: the topic may yet be created) without a hang, while
// messages of the same Write call to a good topic go through.
func TestKafkaSinkUnknownTopic(t *testing.T) {
	addr := kafkatest.Broker(t)
	good := kafkatest.Topic(t, addr, 1)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const timeout = 3 * time.Second
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: good, Acks: -1,
		RequestTimeout: timeout, AckTimeout: timeout}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	missing := good + "-missing"
	acks := newAckLog(t, 3)
	start := time.Now()
	err = s.Write(context.Background(), []runtime.Message{
		{Value: []byte("good"), Ack: acks.Ack(0)},
		{Value: []byte("lost"), Topic: missing, Ack: acks.Ack(1)},
		{Value: []byte("good too"), Ack: acks.Ack(2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	acks.Wait(2*timeout + time.Second)
	t.Logf("acknowledged in %s", time.Since(start))
	err, _ = acks.Err(1)
	var oe *runtime.OutboundError
	if !errors.As(err, &oe) || oe.Client != Name || oe.Permanent || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing topic: err = %v, want a retryable producer error naming the topic", err)
	}
	for _, i := range []int{0, 2} {
		if err, _ := acks.Err(i); err != nil {
			t.Errorf("message %d to the good topic: %v", i, err)
		}
	}
	if got := kafkatest.ReadAll(t, addr, good, 2, 10*time.Second); len(got) != 2 {
		t.Errorf("good topic holds %d messages, want 2", len(got))
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaSinkClosePending closes the sink right after writing, while
// batches are still lingering: Close returns promptly (it does not wait
// out the linger), every message is acknowledged by then, and all are in
// the topic.
func TestKafkaSinkClosePending(t *testing.T) {
	addr := kafkatest.Broker(t)
	topic := kafkatest.Topic(t, addr, 3)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const linger = 10 * time.Second
	s, err := NewSink(Config{Brokers: []string{addr}, Topic: topic, Acks: -1,
		Linger: linger, BatchBytes: 1 << 20, CloseTimeout: 20 * time.Second}, sinkTestLogger())
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	acks := newAckLog(t, n)
	msgs := make([]runtime.Message, n)
	for i := range msgs {
		msgs[i] = runtime.Message{Key: fmt.Appendf(nil, "k%d", i%50), Value: fmt.Appendf(nil, "v%d", i), Ack: acks.Ack(i)}
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if c := acks.Count(); c != 0 {
		t.Fatalf("%d acks before Close while batches linger", c)
	}
	start := time.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > linger/2 {
		t.Errorf("Close took %s", took)
	}
	if c := acks.Count(); c != n {
		t.Fatalf("%d of %d acknowledged when Close returned", c, n)
	}
	for i := range n {
		if err, _ := acks.Err(i); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if got := kafkatest.ReadAll(t, addr, topic, n, 30*time.Second); len(got) != n {
		t.Errorf("topic holds %d messages, want %d", len(got), n)
	}
}
