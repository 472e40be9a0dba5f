package producer

import (
	"bytes"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/kgen-dev/kgen/runtime"
)

// TestProducerRejectsOversizedMessage: a message larger than
// MaxRequestSize fails at once, permanently, naming the limit; it never
// reaches a batch.
func TestProducerRejectsOversizedMessage(t *testing.T) {
	p := &producer{cfg: Config{BatchBytes: 100, MaxRequestSize: 1000}, balancer: &kafka.Murmur2Balancer{}}
	err := p.add("t", &topicInfo{partitions: []int{0}, writers: make([]atomic.Pointer[partWriter], 1)}, &runtime.Message{Value: make([]byte, 1000)}, 0, time.Time{}, &ackToken{})
	if !errors.Is(err, kafka.MessageSizeTooLarge) || retryable(err) {
		t.Fatalf("err = %v, want a permanent MessageSizeTooLarge", err)
	}
}

// TestPartWriterClosesBatchesByBytes: batch_size is bytes per partition
// batch, as in kafka-python and Java: a batch closes when the next record
// would pass it, a record larger than it goes alone, and no record count
// closes a batch unless BatchSize is set.
func TestPartWriterClosesBatchesByBytes(t *testing.T) {
	rec := func(n int) *runtime.Message { return &runtime.Message{Value: make([]byte, n)} }
	one := recordSizeV2(rec(100), 0, 0) // 1-byte varints either way
	tests := []struct {
		name      string
		cfg       Config
		blocked   bool
		values    []int
		wantSizes []int // records per closed batch, then the open one's
	}{
		{"bytes", Config{BatchBytes: int64(batchHeaderLen + 3*one)}, false, []int{100, 100, 100, 100, 100, 100, 100}, []int{3, 3, 1}},
		{"large record alone", Config{BatchBytes: int64(batchHeaderLen + 3*one)}, false, []int{100, 1000, 100}, []int{1, 1, 1}},
		{"no record cap", Config{BatchBytes: 1 << 20}, false, make([]int, 1000), []int{1000}},
		{"record cap", Config{BatchBytes: 1 << 20, BatchSize: 400}, false, make([]int, 1000), []int{400, 400, 200}},
		// While the partition cannot send, the batch grows past
		// BatchBytes up to MaxRequestSize (see partWriter.add).
		{"grows while blocked", Config{BatchBytes: int64(batchHeaderLen + 3*one), MaxRequestSize: int64(batchHeaderLen + 5*one)}, true,
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
				got = append(got, int(b.N))
				if limit := tt.cfg.BatchBytes; !tt.blocked && b.N > 1 && int64(b.size()) > limit {
					t.Errorf("batch of %d records is %d bytes, over BatchBytes %d", b.N, b.size(), limit)
				}
				if limit := tt.cfg.MaxRequestSize; tt.blocked && int64(b.size()) > limit {
					t.Errorf("batch of %d records is %d bytes, over MaxRequestSize %d", b.N, b.size(), limit)
				}
			}
			if w.cur != nil {
				got = append(got, int(w.cur.N))
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
	m := runtime.Message{Key: []byte("key-000042"), Value: bytes.Repeat([]byte("v"), 100)}
	b.Run("kgen", func(b *testing.B) {
		tok := &ackToken{}
		var scratch []byte
		batch := newRecordBatch()
		b.ReportAllocs()
		b.SetBytes(int64(len(m.Value)))
		for b.Loop() {
			batch.add(&m, 1_700_000_000_000, tok)
			if batch.N == 1000 {
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
