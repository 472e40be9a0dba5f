package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// TestRecordBatchDecodes encodes batches of random records (null and
// empty keys and values, headers with null values, timestamps going
// backwards) with every codec, and decodes them with kafka-go's own
// record set decoder: same records, same order, valid CRC, the codec in
// the attributes.
func TestRecordBatchDecodes(t *testing.T) {
	codecs := []kafka.Compression{0, kafka.Gzip, kafka.Snappy, kafka.Lz4, kafka.Zstd}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range codecs {
		for _, n := range []int{1, 2, 17, 500} {
			t.Run(fmt.Sprintf("%v/%d", c, n), func(t *testing.T) {
				msgs, times := randomMessages(rng, n)
				b := newRecordBatch()
				defer b.free()
				for i := range msgs {
					b.add(&msgs[i], times[i], &ackToken{})
				}
				var scratch []byte
				raw, err := b.seal(c.Codec(), &scratch)
				if err != nil {
					t.Fatal(err)
				}
				checkHeader(t, raw, c, n)
				var rs protocol.RecordSet
				if _, err := rs.ReadFrom(bytes.NewReader(raw)); err != nil {
					t.Fatalf("kafka-go cannot decode the batch: %v", err)
				}
				for i := range msgs {
					r, err := rs.Records.ReadRecord()
					if err != nil {
						t.Fatalf("record %d: %v", i, err)
					}
					want := &msgs[i]
					if got := readBytes(t, r.Key); !sameBytes(got, want.Key) {
						t.Errorf("record %d: key %q, want %q", i, got, want.Key)
					}
					if got := readBytes(t, r.Value); !sameBytes(got, want.Value) {
						t.Errorf("record %d: value %q, want %q", i, got, want.Value)
					}
					if r.Offset != int64(i) {
						t.Errorf("record %d: offset delta %d", i, r.Offset)
					}
					if ms := r.Time.UnixMilli(); ms != times[i] {
						t.Errorf("record %d: time %d, want %d", i, ms, times[i])
					}
					if len(r.Headers) != len(want.Headers) {
						t.Fatalf("record %d: %d headers, want %d", i, len(r.Headers), len(want.Headers))
					}
					for j, h := range r.Headers {
						if h.Key != want.Headers[j].Key || !sameBytes(h.Value, want.Headers[j].Value) {
							t.Errorf("record %d header %d: %q=%q, want %q=%q", i, j, h.Key, h.Value,
								want.Headers[j].Key, want.Headers[j].Value)
						}
					}
				}
				if _, err := rs.Records.ReadRecord(); !errors.Is(err, io.EOF) {
					t.Errorf("after the last record: %v, want io.EOF", err)
				}
			})
		}
	}
}

// checkHeader checks the batch header fields kafka-go's decoder ignores.
func checkHeader(t *testing.T, raw []byte, c kafka.Compression, n int) {
	t.Helper()
	be := binary.BigEndian
	if got := int(be.Uint32(raw)); got != len(raw)-4 {
		t.Errorf("size prefix %d, want %d", got, len(raw)-4)
	}
	if got := int(be.Uint32(raw[offBatchLength:])); got != len(raw)-offLeaderEpoch {
		t.Errorf("batch length %d, want %d", got, len(raw)-offLeaderEpoch)
	}
	if raw[offMagic] != 2 {
		t.Errorf("magic %d", raw[offMagic])
	}
	if got, want := be.Uint32(raw[offCRC:]), crc32.Checksum(raw[offAttributes:], crc32.MakeTable(crc32.Castagnoli)); got != want {
		t.Errorf("crc %08x, want %08x", got, want)
	}
	var code int16
	if c != 0 {
		code = int16(c.Codec().Code())
	}
	if got := int16(be.Uint16(raw[offAttributes:])); got != code {
		t.Errorf("attributes %d, want codec %d", got, code)
	}
	if got := int(be.Uint32(raw[offLastDelta:])); got != n-1 {
		t.Errorf("last offset delta %d, want %d", got, n-1)
	}
	if got := int(be.Uint32(raw[offCount:])); got != n {
		t.Errorf("count %d, want %d", got, n)
	}
	if id := int64(be.Uint64(raw[offProducerID:])); id != -1 {
		t.Errorf("producer id %d, want -1", id)
	}
}

func randomMessages(rng *rand.Rand, n int) ([]Message, []int64) {
	blob := func() []byte {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return []byte{}
		default:
			b := make([]byte, rng.IntN(300))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return b
		}
	}
	msgs := make([]Message, n)
	times := make([]int64, n)
	base := int64(1_700_000_000_000)
	for i := range msgs {
		msgs[i] = Message{Key: blob(), Value: blob()}
		for range rng.IntN(4) {
			msgs[i].Headers = append(msgs[i].Headers, Header{Key: fmt.Sprintf("h%d", rng.IntN(100)), Value: blob()})
		}
		times[i] = base + rng.Int64N(5000) - 1000
	}
	return msgs, times
}

func readBytes(t *testing.T, b protocol.Bytes) []byte {
	t.Helper()
	if b == nil {
		return nil
	}
	out, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// sameBytes tells nil (null) from empty.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

func TestVarintLen(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 20, -(1 << 40), 1<<63 - 1, -1 << 63} {
		if got, want := varintLen(v), len(binary.AppendVarint(nil, v)); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", v, got, want)
		}
	}
}

// TestProducerRejectsOversizedMessage: a message larger than
// MaxRequestSize fails at once, permanently, naming the limit; it never
// reaches a batch.
func TestProducerRejectsOversizedMessage(t *testing.T) {
	p := &producer{cfg: KafkaProducerConfig{BatchBytes: 100, MaxRequestSize: 1000}, balancer: &kafka.Murmur2Balancer{}}
	err := p.add("t", &topicInfo{partitions: []int{0}, writers: make([]atomic.Pointer[partWriter], 1)}, &Message{Value: make([]byte, 1000)}, 0, time.Time{}, &ackToken{})
	if !errors.Is(err, kafka.MessageSizeTooLarge) || retryable(err) {
		t.Fatalf("err = %v, want a permanent MessageSizeTooLarge", err)
	}
}

// TestPartWriterClosesBatchesByBytes: batch_size is bytes per partition
// batch, as in kafka-python and Java: a batch closes when the next record
// would pass it, a record larger than it goes alone, and no record count
// closes a batch unless BatchSize is set.
func TestPartWriterClosesBatchesByBytes(t *testing.T) {
	rec := func(n int) *Message { return &Message{Value: make([]byte, n)} }
	one := recordSizeV2(rec(100), 0, 0) // 1-byte varints either way
	tests := []struct {
		name      string
		cfg       KafkaProducerConfig
		blocked   bool
		values    []int
		wantSizes []int // records per closed batch, then the open one's
	}{
		{"bytes", KafkaProducerConfig{BatchBytes: int64(batchHeaderLen + 3*one)}, false, []int{100, 100, 100, 100, 100, 100, 100}, []int{3, 3, 1}},
		{"large record alone", KafkaProducerConfig{BatchBytes: int64(batchHeaderLen + 3*one)}, false, []int{100, 1000, 100}, []int{1, 1, 1}},
		{"no record cap", KafkaProducerConfig{BatchBytes: 1 << 20}, false, make([]int, 1000), []int{1000}},
		{"record cap", KafkaProducerConfig{BatchBytes: 1 << 20, BatchSize: 400}, false, make([]int, 1000), []int{400, 400, 200}},
		// While the partition cannot send, the batch grows past
		// BatchBytes up to MaxRequestSize (see partWriter.add).
		{"grows while blocked", KafkaProducerConfig{BatchBytes: int64(batchHeaderLen + 3*one), MaxRequestSize: int64(batchHeaderLen + 5*one)}, true,
			[]int{100, 100, 100, 100, 100, 100, 100}, []int{5, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &producer{cfg: tt.cfg}
			w := &partWriter{p: p, wake: make(chan struct{}, 1)}
			w.blocked.Store(tt.blocked)
			toks := make([]ackToken, len(tt.values))
			for i, v := range tt.values {
				if !w.add(rec(v), 1_700_000_000_000, time.Time{}, &toks[i]) {
					t.Fatal("add refused")
				}
			}
			var got []int
			for _, b := range w.full {
				got = append(got, int(b.n))
				if limit := tt.cfg.BatchBytes; !tt.blocked && b.n > 1 && int64(b.size()) > limit {
					t.Errorf("batch of %d records is %d bytes, over BatchBytes %d", b.n, b.size(), limit)
				}
				if limit := tt.cfg.MaxRequestSize; tt.blocked && int64(b.size()) > limit {
					t.Errorf("batch of %d records is %d bytes, over MaxRequestSize %d", b.n, b.size(), limit)
				}
			}
			if w.cur != nil {
				got = append(got, int(w.cur.n))
			}
			if !slices.Equal(got, tt.wantSizes) {
				t.Errorf("batches = %v, want %v", got, tt.wantSizes)
			}
		})
	}
}

// BenchmarkRecordBatchAdd is the producer's per-record cost: encoding a
// 100 B record with a 10 B key into a batch, sealing a batch every 1000.
// The kafka-go sub-benchmark encodes the same batch with kafka-go's
// protocol package, as its Writer and Client.Produce do.
func BenchmarkRecordBatchAdd(b *testing.B) {
	m := Message{Key: []byte("key-000042"), Value: bytes.Repeat([]byte("v"), 100)}
	b.Run("kgen", func(b *testing.B) {
		tok := &ackToken{}
		var scratch []byte
		batch := newRecordBatch()
		b.ReportAllocs()
		b.SetBytes(int64(len(m.Value)))
		for b.Loop() {
			batch.add(&m, 1_700_000_000_000, tok)
			if batch.n == 1000 {
				if _, err := batch.seal(nil, &scratch); err != nil {
					b.Fatal(err)
				}
				batch.free()
				batch = newRecordBatch()
			}
		}
	})
	b.Run("kafka-go", func(b *testing.B) {
		recs := make([]protocol.Record, 1000)
		now := time.UnixMilli(1_700_000_000_000)
		var buf bytes.Buffer
		b.ReportAllocs()
		b.SetBytes(int64(len(m.Value)) * 1000)
		for b.Loop() {
			for i := range recs {
				recs[i] = protocol.Record{Time: now, Key: protocol.NewBytes(m.Key), Value: protocol.NewBytes(m.Value)}
			}
			buf.Reset()
			rs := protocol.RecordSet{Version: 2, Records: protocol.NewRecordReader(recs...)}
			if _, err := rs.WriteTo(&buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
	})
}
