package producer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"

	"github.com/kgen-dev/kgen/runtime"
)

// sealedBatch returns the bytes of a sealed batch of n records.
func sealedBatch(t testing.TB, n int) []byte {
	t.Helper()
	b := newRecordBatch()
	now := time.Now().UnixMilli()
	for i := range n {
		b.add(&runtime.Message{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("value %d", i))}, now, nil)
	}
	var scratch []byte
	raw, err := b.sealAs(nil, &scratch, 7, 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(raw)
}

// TestProduceRequestDecodesInKafkaGo: kafka-go's own decoder (an
// independent reading of the protocol) reads the hand-encoded request
// back field by field, records included.
func TestProduceRequestDecodesInKafkaGo(t *testing.T) {
	for _, tc := range []struct {
		clientID, topic string
		partition       int32
		acks            int16
		records         int
	}{
		{"", "t", 0, -1, 1},
		{"kgen-orders", "orders.v2", 5, 1, 300},
		{"x", strings.Repeat("a", 249), 1<<31 - 1, 0, 20},
	} {
		t.Run(tc.topic[:1]+fmt.Sprint(tc.records), func(t *testing.T) {
			raw := sealedBatch(t, tc.records)
			req := appendProduceRequest(nil, 42, tc.clientID, tc.acks, 3000, tc.topic, tc.partition, len(raw))
			req = append(req, raw...)
			version, corr, clientID, msg, err := protocol.ReadRequest(bytes.NewReader(req))
			if err != nil {
				t.Fatalf("kafka-go cannot read the request: %v", err)
			}
			if version != produceVersion || corr != 42 || clientID != tc.clientID {
				t.Fatalf("header: version %d corr %d client %q, want %d 42 %q", version, corr, clientID, produceVersion, tc.clientID)
			}
			r, ok := msg.(*produce.Request)
			if !ok {
				t.Fatalf("decoded as %T, want a produce request", msg)
			}
			if r.TransactionalID != "" || r.Acks != tc.acks || r.Timeout != 3000 || len(r.Topics) != 1 ||
				r.Topics[0].Topic != tc.topic || len(r.Topics[0].Partitions) != 1 || r.Topics[0].Partitions[0].Partition != tc.partition {
				t.Fatalf("request %+v, want acks %d timeout 3000 %s/%d", r, tc.acks, tc.topic, tc.partition)
			}
			rs := r.Topics[0].Partitions[0].RecordSet
			got := 0
			for {
				rec, err := rs.Records.ReadRecord()
				if err != nil {
					break
				}
				if want := fmt.Sprintf("k%d", got); string(readBytes(t, rec.Key)) != want {
					t.Fatalf("record %d key %q, want %q", got, readBytes(t, rec.Key), want)
				}
				got++
			}
			if got != tc.records {
				t.Fatalf("%d records decoded, want %d", got, tc.records)
			}
		})
	}
}

// response encodes res as a Produce v8 response with kafka-go's encoder.
func response(t *testing.T, corr int32, res *produce.Response) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := protocol.WriteResponse(&buf, produceVersion, corr, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func partitionResponse(p int32, code int16, recErrs ...string) produce.ResponsePartition {
	rp := produce.ResponsePartition{Partition: p, ErrorCode: code, BaseOffset: 99, LogAppendTime: -1, LogStartOffset: 0}
	for i, m := range recErrs {
		rp.RecordErrors = append(rp.RecordErrors, produce.ResponseError{BatchIndex: int32(i), BatchIndexErrorMessage: m})
	}
	return rp
}

// TestProduceResponseFromKafkaGo: responses kafka-go encodes read back
// as the partition's result.
func TestProduceResponseFromKafkaGo(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  produce.Response
		want func(error) bool
		read bool // a read error (connection unusable) is expected
	}{
		{name: "ok", res: produce.Response{Topics: []produce.ResponseTopic{{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(3, 0)}}}},
			want: func(err error) bool { return err == nil }},
		{name: "not leader", res: produce.Response{Topics: []produce.ResponseTopic{{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(3, int16(kafka.NotLeaderForPartition))}}}},
			want: func(err error) bool { return errors.Is(err, kafka.NotLeaderForPartition) }},
		{name: "out of order sequence", res: produce.Response{Topics: []produce.ResponseTopic{{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(3, int16(kafka.OutOfOrderSequenceNumber))}}}},
			want: func(err error) bool { return errors.Is(err, kafka.OutOfOrderSequenceNumber) }},
		{name: "record rejected", res: produce.Response{Topics: []produce.ResponseTopic{{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(3, 0, "compacted topic needs a key")}}}},
			want: func(err error) bool {
				return errors.Is(err, kafka.InvalidRecord) && strings.Contains(err.Error(), "compacted topic needs a key")
			}},
		{name: "ours among others", res: produce.Response{ThrottleTimeMs: 5, Topics: []produce.ResponseTopic{
			{Topic: "other", Partitions: []produce.ResponsePartition{partitionResponse(3, int16(kafka.NotLeaderForPartition))}},
			{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(2, int16(kafka.NotLeaderForPartition)), partitionResponse(3, 0)}}}},
			want: func(err error) bool { return err == nil }},
		{name: "partition missing", res: produce.Response{Topics: []produce.ResponseTopic{{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(4, 0)}}}},
			read: true, want: func(err error) bool { return errors.Is(err, errMalformedResponse) }},
		{name: "no topics", res: produce.Response{},
			read: true, want: func(err error) bool { return errors.Is(err, errMalformedResponse) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf []byte
			// Two responses back to back: the first is read exactly, no byte of the next.
			wire := append(response(t, 7, &tc.res), response(t, 8, &tc.res)...)
			r := bufio.NewReader(bytes.NewReader(wire))
			for _, corrWant := range []int32{7, 8} {
				corr, result, readErr := readProduceResponse(r, &buf, "t", 3)
				if tc.read {
					if !tc.want(readErr) {
						t.Fatalf("read error %v, want a malformed response", readErr)
					}
					return
				}
				if readErr != nil {
					t.Fatalf("read: %v", readErr)
				}
				if corr != corrWant {
					t.Fatalf("correlation id %d, want %d", corr, corrWant)
				}
				if !tc.want(result) {
					t.Fatalf("result %v", result)
				}
			}
		})
	}
}

// TestProduceResponseHostile: sizes, counts and truncations a broken or
// hostile peer sends are read errors, never a panic or a large allocation.
func TestProduceResponseHostile(t *testing.T) {
	be32 := func(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	body := func(parts ...[]byte) []byte {
		b := bytes.Join(parts, nil)
		return append(be32(int32(len(b))), b...)
	}
	for name, wire := range map[string][]byte{
		"empty":                   nil,
		"size only":               be32(100),
		"size negative":           be32(-1),
		"size too small":          be32(3),
		"size over the bound":     be32(maxProduceResponse + 1),
		"size 2 GiB":              be32(1<<31 - 1),
		"topics count huge":       body(be32(1), be32(1<<30)),
		"partitions count huge":   body(be32(1), be32(1), []byte{0, 1, 't'}, be32(1<<30)),
		"topic name past the end": body(be32(1), be32(1), []byte{0x7f, 0xff, 't'}),
		"partition cut short":     body(be32(1), be32(1), []byte{0, 1, 't'}, be32(1), be32(3), []byte{0, 0}),
	} {
		t.Run(name, func(t *testing.T) {
			var buf []byte
			_, _, err := readProduceResponse(bufio.NewReader(bytes.NewReader(wire)), &buf, "t", 3)
			if err == nil {
				t.Fatal("read a hostile response without error")
			}
			if cap(buf) > 1<<10 {
				t.Fatalf("allocated %d bytes for it", cap(buf))
			}
		})
	}
}

func FuzzProduceResponse(f *testing.F) {
	var b bytes.Buffer
	_ = protocol.WriteResponse(&b, produceVersion, 1, &produce.Response{Topics: []produce.ResponseTopic{
		{Topic: "t", Partitions: []produce.ResponsePartition{partitionResponse(3, 0, "bad")}}}})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, wire []byte) {
		var buf []byte
		_, _, _ = readProduceResponse(bufio.NewReader(bytes.NewReader(wire)), &buf, "t", 3)
	})
}

func readBytes(t *testing.T, b protocol.Bytes) []byte {
	t.Helper()
	if b == nil {
		return nil
	}
	defer b.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkProduceExchange: one request encoded and its response read, by
// hand and through kafka-go's reflection codec (the previous path).
func BenchmarkProduceExchange(b *testing.B) {
	raw := sealedBatch(b, 130)
	var resp bytes.Buffer
	_ = protocol.WriteResponse(&resp, produceVersion, 1, &produce.Response{Topics: []produce.ResponseTopic{
		{Topic: "topic", Partitions: []produce.ResponsePartition{{Partition: 3}}}}})
	respBytes := resp.Bytes()
	b.Run("hand", func(b *testing.B) {
		var hdr, buf []byte
		br := bufio.NewReader(nil)
		for b.Loop() {
			hdr = appendProduceRequest(hdr[:0], 1, "kgen", 1, 30000, "topic", 3, len(raw))
			_, _ = writeSink{}.Write(hdr)
			_, _ = writeSink{}.Write(raw)
			br.Reset(bytes.NewReader(respBytes))
			if _, res, err := readProduceResponse(br, &buf, "topic", 3); err != nil || res != nil {
				b.Fatal(err, res)
			}
		}
	})
	b.Run("kafka-go", func(b *testing.B) {
		br := bufio.NewReader(nil)
		for b.Loop() {
			req := &rawproduce.Request{Acks: 1, Timeout: 30000, Topics: []rawproduce.RequestTopic{{Topic: "topic",
				Partitions: []rawproduce.RequestPartition{{Partition: 3, RecordSet: protocol.RawRecordSet{Reader: bytes.NewReader(raw)}}}}}}
			if err := protocol.WriteRequest(writeSink{}, produceVersion, 1, "kgen", req); err != nil {
				b.Fatal(err)
			}
			br.Reset(bytes.NewReader(respBytes))
			if _, _, err := protocol.ReadResponse(br, protocol.Produce, produceVersion); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type writeSink struct{}

func (writeSink) Write(p []byte) (int, error) { return len(p), nil }
