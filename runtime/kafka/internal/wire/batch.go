// Package wire is the Kafka wire code the consumer and the producer
// share: the record batch encoder the producer sends with (Batch),
// EachRecord, which reads an uncompressed batch's records back, and
// Reader, which reads protocol fields off a buffer (the consumer's fetch
// responses and batches, the producer's produce responses).
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/segmentio/kafka-go/compress"

	"github.com/kgen-dev/kgen/runtime"
)

// Batch encodes records straight into the wire form of one Kafka
// record batch (message format v2, the only one Kafka 4 accepts), prefixed
// by its int32 size as a produce request carries it, for kafka-go's
// Client.RawProduce. Each record is encoded once, by the goroutine that
// appends it, into one reused buffer: no per-record allocation and no
// second pass, where kafka-go's Writer copies each message into its own
// batch and encodes it again, through interfaces, at send time.
//
// Layout (https://kafka.apache.org/documentation/#recordbatch):
//
//	size int32 | baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
//	magic int8 | crc uint32 | attributes int16 | lastOffsetDelta int32 |
//	baseTimestamp int64 | maxTimestamp int64 | producerId int64 |
//	producerEpoch int16 | baseSequence int32 | records count int32 | records
//
// and each record:
//
//	length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//	key (varint length, -1 for null) | value (same) | header count varint |
//	headers (varint key length, key, varint value length or -1, value)
//
// Varints are zig-zag encoded, as encoding/binary's AppendVarint does.
type Batch struct {
	// Buf is the batch being encoded: the size prefix and header (filled
	// in by Seal), then the records appended so far.
	Buf []byte
	// N counts the records appended.
	N int32
	// First and Max are the timestamps (ms) of the first record and the
	// highest one.
	First, Max int64
}

const (
	SizeLen          = 4
	BatchHeaderLen   = 61
	RecordsStart     = SizeLen + BatchHeaderLen
	OffBatchLength   = SizeLen + 8
	OffLeaderEpoch   = OffBatchLength + 4
	OffMagic         = OffLeaderEpoch + 4
	OffCRC           = OffMagic + 1
	OffAttributes    = OffCRC + 4
	OffLastDelta     = OffAttributes + 2
	OffBaseTime      = OffLastDelta + 4
	OffMaxTime       = OffBaseTime + 8
	OffProducerID    = OffMaxTime + 8
	OffProducerEpoch = OffProducerID + 8
	OffBaseSequence  = OffProducerEpoch + 2
	OffCount         = OffBaseSequence + 4
)

var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewBatch returns an empty batch with room for about size bytes of
// records.
func NewBatch(size int) Batch {
	return Batch{Buf: make([]byte, RecordsStart, RecordsStart+size)}
}

// Reset empties b, keeping its buffer.
func (b *Batch) Reset() {
	b.Buf = b.Buf[:RecordsStart]
	b.N, b.First, b.Max = 0, 0, 0
}

// Size is the batch's encoded size so far, header included.
func (b *Batch) Size() int { return len(b.Buf) - SizeLen }

// RecordSize is the encoded size of a record (its length prefix
// included) at offsetDelta and timestampDelta.
func RecordSize(m *runtime.Message, offsetDelta int32, tsDelta int64) int {
	n := recordBodySize(m, offsetDelta, tsDelta)
	return VarintLen(int64(n)) + n
}

// RecordSizeMax bounds RecordSize from above for any offset and
// timestamp delta, without looking at the varints: the exact size is only
// worked out when this bound comes near a limit.
func RecordSizeMax(m *runtime.Message) int {
	n := 5 + 1 + 10 + 5 + 5 + len(m.Key) + 5 + len(m.Value) + 5
	for i := range m.Headers {
		n += 10 + len(m.Headers[i].Key) + len(m.Headers[i].Value)
	}
	return n
}

func recordBodySize(m *runtime.Message, offsetDelta int32, tsDelta int64) int {
	n := 1 + VarintLen(tsDelta) + VarintLen(int64(offsetDelta))
	n += bytesFieldSize(m.Key) + bytesFieldSize(m.Value)
	n += VarintLen(int64(len(m.Headers)))
	for i := range m.Headers {
		h := &m.Headers[i]
		n += VarintLen(int64(len(h.Key))) + len(h.Key) + bytesFieldSize(h.Value)
	}
	return n
}

func bytesFieldSize(v []byte) int {
	if v == nil {
		return VarintLen(-1)
	}
	return VarintLen(int64(len(v))) + len(v)
}

func VarintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// Add appends m with timestamp ts (ms).
func (b *Batch) Add(m *runtime.Message, ts int64) {
	if b.N == 0 {
		b.First, b.Max = ts, ts
	}
	b.Max = max(b.Max, ts)
	delta := ts - b.First
	body := recordBodySize(m, b.N, delta)
	buf := b.Buf
	buf = binary.AppendVarint(buf, int64(body))
	buf = append(buf, 0) // attributes
	buf = binary.AppendVarint(buf, delta)
	buf = binary.AppendVarint(buf, int64(b.N))
	buf = appendBytesField(buf, m.Key)
	buf = appendBytesField(buf, m.Value)
	buf = binary.AppendVarint(buf, int64(len(m.Headers)))
	for i := range m.Headers {
		h := &m.Headers[i]
		buf = binary.AppendVarint(buf, int64(len(h.Key)))
		buf = append(buf, h.Key...)
		buf = appendBytesField(buf, h.Value)
	}
	b.Buf = buf
	b.N++
}

func appendBytesField(buf, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(buf, -1)
	}
	buf = binary.AppendVarint(buf, int64(len(v)))
	return append(buf, v...)
}

// Seal fills in the header and returns the wire bytes (size prefix
// included), not idempotent. With a codec the records are compressed into
// scratch, which then holds the result; without, the result is Buf.
func (b *Batch) Seal(codec compress.Codec, scratch *[]byte) ([]byte, error) {
	return b.SealAs(codec, scratch, -1, -1, -1)
}

// SealAs is Seal with the idempotent producer's id, epoch and base
// sequence (-1 each: not idempotent).
func (b *Batch) SealAs(codec compress.Codec, scratch *[]byte, producerID int64, epoch int16, baseSequence int32) ([]byte, error) {
	out := b.Buf
	var attrs int16
	if codec != nil {
		attrs = int16(codec.Code())
		c := append((*scratch)[:0], b.Buf[:RecordsStart]...)
		w := codec.NewWriter(appender{&c})
		if _, err := w.Write(b.Buf[RecordsStart:]); err != nil {
			w.Close()
			return nil, fmt.Errorf("compress batch: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("compress batch: %w", err)
		}
		*scratch = c
		out = c
	}
	be := binary.BigEndian
	be.PutUint32(out[0:], uint32(len(out)-SizeLen))
	be.PutUint64(out[SizeLen:], 0) // base offset: the broker assigns
	be.PutUint32(out[OffBatchLength:], uint32(len(out)-OffLeaderEpoch))
	be.PutUint32(out[OffLeaderEpoch:], 0xffffffff) // -1: no leader epoch
	out[OffMagic] = 2
	be.PutUint16(out[OffAttributes:], uint16(attrs))
	be.PutUint32(out[OffLastDelta:], uint32(b.N-1))
	be.PutUint64(out[OffBaseTime:], uint64(b.First))
	be.PutUint64(out[OffMaxTime:], uint64(b.Max))
	be.PutUint32(out[OffCount:], uint32(b.N))
	Stamp(out, producerID, epoch, baseSequence)
	return out, nil
}

// Stamp writes the producer id, epoch and base sequence of the sealed
// batch out (-1 each: not idempotent) and its CRC, which covers them.
func Stamp(out []byte, producerID int64, epoch int16, baseSequence int32) {
	be := binary.BigEndian
	be.PutUint64(out[OffProducerID:], uint64(producerID))
	be.PutUint16(out[OffProducerEpoch:], uint16(epoch))
	be.PutUint32(out[OffBaseSequence:], uint32(baseSequence))
	be.PutUint32(out[OffCRC:], crc32.Checksum(out[OffAttributes:], Castagnoli))
}

// appender is an io.Writer appending to a byte slice.
type appender struct{ b *[]byte }

func (a appender) Write(p []byte) (int, error) {
	*a.b = append(*a.b, p...)
	return len(p), nil
}

// ErrBadRecord is a record encoding EachRecord cannot read (never one
// that add wrote).
var ErrBadRecord = errors.New("malformed record in batch")

// EachRecord calls fn with every record of the uncompressed record
// encoding recs (as add writes it, after the batch header), in order,
// and the record's timestamp delta. m's slices point into recs.
func EachRecord(recs []byte, fn func(m *runtime.Message, tsDelta int64)) error {
	var m runtime.Message
	for len(recs) > 0 {
		n, k := binary.Varint(recs)
		if k <= 0 || n < 0 || int64(len(recs)-k) < n {
			return ErrBadRecord
		}
		r := recs[k : k+int(n)]
		recs = recs[k+int(n):]
		if len(r) < 1 {
			return ErrBadRecord
		}
		r = r[1:] // attributes
		ts, k := binary.Varint(r)
		if k <= 0 {
			return ErrBadRecord
		}
		r = r[k:]
		if _, k = binary.Varint(r); k <= 0 { // offset delta
			return ErrBadRecord
		}
		r = r[k:]
		var ok bool
		if m.Key, r, ok = readBytesField(r); !ok {
			return ErrBadRecord
		}
		if m.Value, r, ok = readBytesField(r); !ok {
			return ErrBadRecord
		}
		nh, k := binary.Varint(r)
		if k <= 0 || nh < 0 || nh > int64(len(r)) {
			return ErrBadRecord
		}
		r = r[k:]
		m.Headers = m.Headers[:0]
		for range nh {
			var h runtime.Header
			var key []byte
			if key, r, ok = readBytesField(r); !ok || key == nil {
				return ErrBadRecord
			}
			h.Key = string(key)
			if h.Value, r, ok = readBytesField(r); !ok {
				return ErrBadRecord
			}
			m.Headers = append(m.Headers, h)
		}
		fn(&m, ts)
	}
	return nil
}

// readBytesField reads a varint-length-prefixed field (-1: nil).
func readBytesField(r []byte) (v, rest []byte, ok bool) {
	n, k := binary.Varint(r)
	if k <= 0 || n < -1 || n > int64(len(r)-k) {
		return nil, r, false
	}
	r = r[k:]
	if n < 0 {
		return nil, r, true
	}
	return r[:n:n], r[n:], true
}
