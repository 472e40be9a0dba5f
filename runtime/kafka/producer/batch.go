package producer

import (
	"sync"
	"time"

	"github.com/segmentio/kafka-go/compress"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/internal/wire"
)

// recordBatch is one partition's batch: the records encoded in the wire
// form (wire.Batch), their acknowledgement tokens, and the state of its
// sending, kept by the partition's writer.
type recordBatch struct {
	wire.Batch
	// toks are the acknowledgement tokens of the records, in order.
	toks []*ackToken

	// Sending state, kept by the partition's writer.
	deadline time.Time // the earliest delivery deadline of its records
	raw      []byte    // the sealed wire bytes: Buf, or zbuf when compressed
	zbuf     []byte
	seq      int32 // base sequence, with the idempotent producer
	attempts int   // requests sent
	lastErr  error // of the last request
	inFlight bool  // a request is out
	alone    bool  // no other request of the partition was out when it was sent
	retry    bool  // to be sent again
	failed   bool  // finished with an error while a request was out
}

// The codec's pieces under the producer's names.
const (
	recordsStart   = wire.RecordsStart
	batchHeaderLen = wire.BatchHeaderLen
	sizeLen        = wire.SizeLen
)

var (
	recordSizeV2  = wire.RecordSize
	recordSizeMax = wire.RecordSizeMax
	eachRecord    = wire.EachRecord
	errBadRecord  = wire.ErrBadRecord
)

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
	{New: func() any { return &recordBatch{Batch: wire.NewBatch(smallBatchCap - recordsStart)} }},
	{New: func() any { return &recordBatch{Batch: wire.NewBatch(1<<20 - recordsStart)} }},
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
	b.Reset()
	return b
}

func (b *recordBatch) free() {
	clear(b.toks)
	b.toks = b.toks[:0]
	b.raw, b.lastErr = nil, nil
	b.deadline, b.attempts = time.Time{}, 0
	b.inFlight, b.retry, b.failed, b.alone = false, false, false, false
	switch {
	case cap(b.Buf) > largeBatchCap || cap(b.zbuf) > largeBatchCap:
	case cap(b.Buf) > smallBatchCap || cap(b.zbuf) > smallBatchCap:
		batchPools[1].Put(b)
	default:
		batchPools[0].Put(b)
	}
}

// size is the batch's encoded size so far, header included.
func (b *recordBatch) size() int { return b.Size() }

// add appends m with timestamp ts (ms) and its token.
func (b *recordBatch) add(m *runtime.Message, ts int64, tok *ackToken) {
	b.Add(m, ts)
	b.toks = append(b.toks, tok)
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
	out, err := b.SealAs(codec, scratch, producerID, epoch, baseSequence)
	if err != nil {
		return nil, err
	}
	b.raw = out
	return out, nil
}

// stamp writes the producer id, epoch and base sequence of a sealed batch
// (-1 each: not idempotent) and its CRC, which covers them.
func (b *recordBatch) stamp(producerID int64, epoch int16, baseSequence int32) {
	wire.Stamp(b.raw, producerID, epoch, baseSequence)
}
