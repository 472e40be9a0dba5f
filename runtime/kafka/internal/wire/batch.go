package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/segmentio/kafka-go/compress"
)

// recordBatch encodes records straight into the wire form of one Kafka
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
type recordBatch struct {
	buf   []byte
	n     int32 // records appended
	first int64 // timestamp of the first record, ms
	max   int64 // highest timestamp, ms
	// toks are the acknowledgement tokens of the records, in order.
	toks []*ackToken

	// Sending state, kept by the partition's writer.
	deadline time.Time // the earliest delivery deadline of its records
	raw      []byte    // the sealed wire bytes: buf, or zbuf when compressed
	zbuf     []byte
	seq      int32 // base sequence, with the idempotent producer
	attempts int   // requests sent
	lastErr  error // of the last request
	inFlight bool  // a request is out
	alone    bool  // no other request of the partition was out when it was sent
	retry    bool  // to be sent again
	failed   bool  // finished with an error while a request was out
}

const (
	sizeLen         = 4
	batchHeaderLen  = 61
	recordsStart    = sizeLen + batchHeaderLen
	offBatchLength  = sizeLen + 8
	offLeaderEpoch  = offBatchLength + 4
	offMagic        = offLeaderEpoch + 4
	offCRC          = offMagic + 1
	offAttributes   = offCRC + 4
	offLastDelta    = offAttributes + 2
	offBaseTime     = offLastDelta + 4
	offMaxTime      = offBaseTime + 8
	offProducerID   = offMaxTime + 8
	offProducerEpch = offProducerID + 8
	offBaseSequence = offProducerEpch + 2
	offCount        = offBaseSequence + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Batches are pooled in two size classes, so that a batch of batch_size
// (16 KiB by default) never keeps the buffer of one that grew to a whole
// request while its partition could not send: small batches kept in
// large buffers held several times the in-flight budget (W2 with the
// seed's settings: 120 MB of buffers for 20 MB of records). A buffer that
// grew past the large class is left to the collector.
const (
	smallBatchCap = 64 << 10
	largeBatchCap = 4 << 20
)

var batchPools = [2]sync.Pool{
	{New: func() any { return &recordBatch{buf: make([]byte, recordsStart, smallBatchCap)} }},
	{New: func() any { return &recordBatch{buf: make([]byte, recordsStart, 1<<20)} }},
}

// newRecordBatch returns an empty batch for records up to smallBatchCap.
func newRecordBatch() *recordBatch { return newRecordBatchFor(0) }

// newRecordBatchFor returns an empty batch with room for about size bytes.
func newRecordBatchFor(size int64) *recordBatch {
	pool := &batchPools[0]
	if size > smallBatchCap {
		pool = &batchPools[1]
	}
	b := pool.Get().(*recordBatch)
	b.buf = b.buf[:recordsStart]
	b.n, b.first, b.max = 0, 0, 0
	return b
}

func (b *recordBatch) free() {
	clear(b.toks)
	b.toks = b.toks[:0]
	b.raw, b.lastErr = nil, nil
	b.deadline, b.attempts = time.Time{}, 0
	b.inFlight, b.retry, b.failed, b.alone = false, false, false, false
	switch {
	case cap(b.buf) > largeBatchCap || cap(b.zbuf) > largeBatchCap:
	case cap(b.buf) > smallBatchCap || cap(b.zbuf) > smallBatchCap:
		batchPools[1].Put(b)
	default:
		batchPools[0].Put(b)
	}
}

// size is the batch's encoded size so far, header included.
func (b *recordBatch) size() int { return len(b.buf) - sizeLen }

// recordSizeV2 is the encoded size of a record (its length prefix
// included) at offsetDelta and timestampDelta.
func recordSizeV2(m *Message, offsetDelta int32, tsDelta int64) int {
	n := recordBodySize(m, offsetDelta, tsDelta)
	return varintLen(int64(n)) + n
}

// recordSizeMax bounds recordSizeV2 from above for any offset and
// timestamp delta, without looking at the varints: the exact size is only
// worked out when this bound comes near a limit.
func recordSizeMax(m *Message) int {
	n := 5 + 1 + 10 + 5 + 5 + len(m.Key) + 5 + len(m.Value) + 5
	for i := range m.Headers {
		n += 10 + len(m.Headers[i].Key) + len(m.Headers[i].Value)
	}
	return n
}

func recordBodySize(m *Message, offsetDelta int32, tsDelta int64) int {
	n := 1 + varintLen(tsDelta) + varintLen(int64(offsetDelta))
	n += bytesFieldSize(m.Key) + bytesFieldSize(m.Value)
	n += varintLen(int64(len(m.Headers)))
	for i := range m.Headers {
		h := &m.Headers[i]
		n += varintLen(int64(len(h.Key))) + len(h.Key) + bytesFieldSize(h.Value)
	}
	return n
}

func bytesFieldSize(v []byte) int {
	if v == nil {
		return varintLen(-1)
	}
	return varintLen(int64(len(v))) + len(v)
}

func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// add appends m with timestamp ts (ms) and its token.
func (b *recordBatch) add(m *Message, ts int64, tok *ackToken) {
	if b.n == 0 {
		b.first, b.max = ts, ts
	}
	b.max = max(b.max, ts)
	delta := ts - b.first
	body := recordBodySize(m, b.n, delta)
	buf := b.buf
	buf = binary.AppendVarint(buf, int64(body))
	buf = append(buf, 0) // attributes
	buf = binary.AppendVarint(buf, delta)
	buf = binary.AppendVarint(buf, int64(b.n))
	buf = appendBytesField(buf, m.Key)
	buf = appendBytesField(buf, m.Value)
	buf = binary.AppendVarint(buf, int64(len(m.Headers)))
	for i := range m.Headers {
		h := &m.Headers[i]
		buf = binary.AppendVarint(buf, int64(len(h.Key)))
		buf = append(buf, h.Key...)
		buf = appendBytesField(buf, h.Value)
	}
	b.buf = buf
	b.n++
	b.toks = append(b.toks, tok)
}

func appendBytesField(buf, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(buf, -1)
	}
	buf = binary.AppendVarint(buf, int64(len(v)))
	return append(buf, v...)
}

// seal fills in the header and returns the wire bytes (size prefix
// included), also kept in raw. With a codec the records are compressed
// into scratch (the producer passes the batch's own zbuf), which then
// holds the result.
func (b *recordBatch) seal(codec compress.Codec, scratch *[]byte) ([]byte, error) {
	return b.sealAs(codec, scratch, -1, -1, -1)
}

// sealAs is seal with the idempotent producer's id, epoch and base
// sequence (-1 each: not idempotent).
func (b *recordBatch) sealAs(codec compress.Codec, scratch *[]byte, producerID int64, epoch int16, baseSequence int32) ([]byte, error) {
	out := b.buf
	var attrs int16
	if codec != nil {
		attrs = int16(codec.Code())
		c := append((*scratch)[:0], b.buf[:recordsStart]...)
		w := codec.NewWriter(appender{&c})
		if _, err := w.Write(b.buf[recordsStart:]); err != nil {
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
	be.PutUint32(out[0:], uint32(len(out)-sizeLen))
	be.PutUint64(out[sizeLen:], 0) // base offset: the broker assigns
	be.PutUint32(out[offBatchLength:], uint32(len(out)-offLeaderEpoch))
	be.PutUint32(out[offLeaderEpoch:], 0xffffffff) // -1: no leader epoch
	out[offMagic] = 2
	be.PutUint16(out[offAttributes:], uint16(attrs))
	be.PutUint32(out[offLastDelta:], uint32(b.n-1))
	be.PutUint64(out[offBaseTime:], uint64(b.first))
	be.PutUint64(out[offMaxTime:], uint64(b.max))
	be.PutUint32(out[offCount:], uint32(b.n))
	b.raw = out
	b.stamp(producerID, epoch, baseSequence)
	return out, nil
}

// stamp writes the producer id, epoch and base sequence of a sealed batch
// (-1 each: not idempotent) and its CRC, which covers them.
func (b *recordBatch) stamp(producerID int64, epoch int16, baseSequence int32) {
	out := b.raw
	be := binary.BigEndian
	be.PutUint64(out[offProducerID:], uint64(producerID))
	be.PutUint16(out[offProducerEpch:], uint16(epoch))
	be.PutUint32(out[offBaseSequence:], uint32(baseSequence))
	be.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], castagnoli))
}

// appender is an io.Writer appending to a byte slice.
type appender struct{ b *[]byte }

func (a appender) Write(p []byte) (int, error) {
	*a.b = append(*a.b, p...)
	return len(p), nil
}

// errBadRecord is a record encoding eachRecord cannot read (never one
// that add wrote).
var errBadRecord = errors.New("malformed record in batch")

// eachRecord calls fn with every record of the uncompressed record
// encoding recs (as add writes it, after the batch header), in order,
// and the record's timestamp delta. m's slices point into recs.
func eachRecord(recs []byte, fn func(m *Message, tsDelta int64)) error {
	var m Message
	for len(recs) > 0 {
		n, k := binary.Varint(recs)
		if k <= 0 || n < 0 || int64(len(recs)-k) < n {
			return errBadRecord
		}
		r := recs[k : k+int(n)]
		recs = recs[k+int(n):]
		if len(r) < 1 {
			return errBadRecord
		}
		r = r[1:] // attributes
		ts, k := binary.Varint(r)
		if k <= 0 {
			return errBadRecord
		}
		r = r[k:]
		if _, k = binary.Varint(r); k <= 0 { // offset delta
			return errBadRecord
		}
		r = r[k:]
		var ok bool
		if m.Key, r, ok = readBytesField(r); !ok {
			return errBadRecord
		}
		if m.Value, r, ok = readBytesField(r); !ok {
			return errBadRecord
		}
		nh, k := binary.Varint(r)
		if k <= 0 || nh < 0 || nh > int64(len(r)) {
			return errBadRecord
		}
		r = r[k:]
		m.Headers = m.Headers[:0]
		for range nh {
			var h Header
			var key []byte
			if key, r, ok = readBytesField(r); !ok || key == nil {
				return errBadRecord
			}
			h.Key = string(key)
			if h.Value, r, ok = readBytesField(r); !ok {
				return errBadRecord
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
