package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/kgen-dev/kgen/runtime"
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
				b := NewBatch(0)
				for i := range msgs {
					b.Add(&msgs[i], times[i])
				}
				var scratch []byte
				raw, err := b.Seal(c.Codec(), &scratch)
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
	if got := int(be.Uint32(raw[OffBatchLength:])); got != len(raw)-OffLeaderEpoch {
		t.Errorf("batch length %d, want %d", got, len(raw)-OffLeaderEpoch)
	}
	if raw[OffMagic] != 2 {
		t.Errorf("magic %d", raw[OffMagic])
	}
	if got, want := be.Uint32(raw[OffCRC:]), crc32.Checksum(raw[OffAttributes:], crc32.MakeTable(crc32.Castagnoli)); got != want {
		t.Errorf("crc %08x, want %08x", got, want)
	}
	var code int16
	if c != 0 {
		code = int16(c.Codec().Code())
	}
	if got := int16(be.Uint16(raw[OffAttributes:])); got != code {
		t.Errorf("attributes %d, want codec %d", got, code)
	}
	if got := int(be.Uint32(raw[OffLastDelta:])); got != n-1 {
		t.Errorf("last offset delta %d, want %d", got, n-1)
	}
	if got := int(be.Uint32(raw[OffCount:])); got != n {
		t.Errorf("count %d, want %d", got, n)
	}
	if id := int64(be.Uint64(raw[OffProducerID:])); id != -1 {
		t.Errorf("producer id %d, want -1", id)
	}
}

func randomMessages(rng *rand.Rand, n int) ([]runtime.Message, []int64) {
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
	msgs := make([]runtime.Message, n)
	times := make([]int64, n)
	base := int64(1_700_000_000_000)
	for i := range msgs {
		msgs[i] = runtime.Message{Key: blob(), Value: blob()}
		for range rng.IntN(4) {
			msgs[i].Headers = append(msgs[i].Headers, runtime.Header{Key: fmt.Sprintf("h%d", rng.IntN(100)), Value: blob()})
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
		if got, want := VarintLen(v), len(binary.AppendVarint(nil, v)); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", v, got, want)
		}
	}
}
