package consumer

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"

	"github.com/kgen-dev/kgen/runtime"
	batchwire "github.com/kgen-dev/kgen/runtime/kafka/internal/wire"
)

// Fetch responses are decoded here from one buffer, without a reader or
// an allocation per field: kafka-go's Batch.ReadMessage reads each field
// through a bufio.Reader and allocates every key and value (profiled, a
// third of a passthrough's CPU). Keys, values and header values are
// copied into small arena chunks (see keep), so the response buffer is
// reused for the next fetch and a record in flight holds at most one
// chunk, not a whole response.

// errShort is a response or batch shorter than its own lengths say.
var errShort = batchwire.ErrTruncated

// wire is the reader of big-endian fields and varints fetch decoding uses.
type wire = batchwire.Reader

// fetchPartition is the part of a fetch response (v11) for one partition.
type fetchPartition struct {
	throttle     time.Duration // the broker asks for a pause before the next request
	err          error         // the partition's error code, nil for none
	highWater    int64
	lastStable   int64
	aborted      []abortedTxn
	records      []byte
	topicMissing bool // the response did not name the partition
}

type abortedTxn struct{ producerID, firstOffset int64 }

// parseFetchResponse reads a Fetch v11 response body (after the
// correlation id) for the one partition it asked for.
func parseFetchResponse(body []byte, topic string, partition int32) (fetchPartition, error) {
	w := &wire{B: body}
	throttle := time.Duration(max(w.Int32(), 0)) * time.Millisecond
	if code := w.Int16(); code != 0 {
		return fetchPartition{throttle: throttle}, kafka.Error(code)
	}
	w.Int32() // session id
	// Counts come from the broker: every loop stops at the first read past
	// the end, and nothing is allocated for more entries than the bytes
	// present can hold.
	for range w.Int32() {
		name := w.String16()
		for range w.Int32() {
			if w.Err != nil {
				return fetchPartition{}, w.Err
			}
			p := fetchPartition{throttle: throttle}
			id := w.Int32()
			if code := w.Int16(); code != 0 {
				p.err = kafka.Error(code)
			}
			p.highWater = w.Int64()
			p.lastStable = w.Int64()
			w.Int64() // log start offset
			if n := int(w.Int32()); n > 0 {
				if n > len(w.B)/16 {
					return fetchPartition{}, fmt.Errorf("%w: %d aborted transactions in %d bytes", errShort, n, len(w.B))
				}
				p.aborted = make([]abortedTxn, n)
				for i := range p.aborted {
					p.aborted[i] = abortedTxn{producerID: w.Int64(), firstOffset: w.Int64()}
				}
			}
			w.Int32() // preferred read replica
			p.records = w.Bytes(int(w.Int32()))
			if w.Err != nil {
				return fetchPartition{}, w.Err
			}
			if name == topic && id == partition {
				return p, nil
			}
		}
		if w.Err != nil {
			return fetchPartition{}, w.Err
		}
	}
	if w.Err != nil {
		return fetchPartition{}, w.Err
	}
	return fetchPartition{throttle: throttle, topicMissing: true}, nil
}

// errCRC is a batch whose CRC32C does not match its content.
var errCRC = errors.New("CRC mismatch")

// Record batch attributes.
const (
	attrCompression   = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

// batchDecoder turns the record batches of fetch responses into Records.
type batchDecoder struct {
	topic     string
	partition int32
	// committed: read_committed, so batches of aborted transactions are
	// skipped (kafka-go's Conn.ReadBatch would hand them on).
	committed bool
	// skipCRC turns off the batch CRC check (kafka-python's check_crcs).
	skipCRC bool
	// maxBatch bounds a batch after decompression (0: no bound).
	maxBatch int64
	// arena is the chunk keys and values are copied into.
	arena []byte
}

// arenaChunk is the size of the chunks records' bytes are copied into. A
// chunk lives as long as any record in it is in flight, so the memory the
// in-flight records hold is at most their own size plus one chunk each
// (with the default budget of 20,000 records, 80 MiB at worst, and far
// less when records finish roughly in order); a field larger than half a
// chunk gets an allocation of its own.
const arenaChunk = 4 << 10

// keep copies b (nil stays nil: a null key or value) out of the response
// buffer, which the next fetch reuses.
func (d *batchDecoder) keep(b []byte) []byte {
	switch n := len(b); {
	case b == nil:
		return nil
	case n == 0:
		return []byte{}
	case n > arenaChunk/2:
		return bytes.Clone(b)
	case n > cap(d.arena)-len(d.arena):
		d.arena = make([]byte, 0, arenaChunk)
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return d.arena[start:len(d.arena):len(d.arena)]
}

// decode appends to recs the records of data at or after next, and
// returns the offset to fetch next: past every complete batch, records
// skipped or not, so control batches and compacted gaps never stall. A
// truncated last batch (the broker cuts responses at max bytes) is left
// for the next fetch. A batch that cannot be decoded stops the decoding:
// the records before it are returned with next at the batch and a
// *runtime.DecodeError.
//
// Under read_committed, aborted lists the aborted transactions of the
// response; it is sorted here by first offset (the broker sends it in no
// promised order; the Java consumer sorts it too).
func (d *batchDecoder) decode(data []byte, aborted []abortedTxn, recs []runtime.Record, next int64) ([]runtime.Record, int64, error) {
	var abortedPIDs map[int64]struct{}
	if d.committed && len(aborted) > 1 {
		slices.SortStableFunc(aborted, func(a, b abortedTxn) int { return cmp.Compare(a.firstOffset, b.firstOffset) })
	}
	for len(data) >= 12 {
		base := int64(binary.BigEndian.Uint64(data))
		length := int(int32(binary.BigEndian.Uint32(data[8:])))
		if length < 0 || len(data)-12 < length {
			break // truncated: fetched again from next
		}
		batch := data[:12+length]
		data = data[12+length:]
		// A batch is handed on whole or not at all.
		mark, markNext := len(recs), next
		bad := func(lastDelta int32, err error) ([]runtime.Record, int64, error) {
			de := &runtime.DecodeError{Topic: d.topic, Partition: d.partition, Offset: base, Err: err, Batch: bytes.Clone(batch)}
			switch {
			case len(data) >= 8 && int64(binary.BigEndian.Uint64(data)) > base:
				de.Next = int64(binary.BigEndian.Uint64(data))
			case lastDelta > 0:
				de.Next = base + int64(lastDelta) + 1
			default:
				de.Next = base + 1
			}
			de.Next = max(de.Next, markNext+1)
			return recs[:mark], markNext, de
		}
		w := &wire{B: batch[12:]}
		w.Int32() // partition leader epoch
		if magic := w.Int8(); magic != 2 {
			return bad(0, fmt.Errorf("record batch format v%d (magic %d): only v2 is supported (Kafka 0.11+ producers)", magic, magic))
		}
		crc := uint32(w.Int32())
		attrs := w.Int16()
		lastDelta := w.Int32()
		baseTime := w.Int64()
		maxTime := w.Int64()
		producerID := w.Int64()
		w.Int16() // producer epoch
		w.Int32() // base sequence
		count := int(w.Int32())
		if w.Err != nil {
			return bad(0, fmt.Errorf("batch of %d bytes: %w", len(batch), w.Err))
		}
		if !d.skipCRC {
			if got := crc32.Checksum(batch[21:], batchwire.Castagnoli); got != crc {
				return bad(lastDelta, fmt.Errorf("%w: computed %08x, batch says %08x", errCRC, got, crc))
			}
		}
		end := base + int64(lastDelta) + 1
		if end <= next {
			continue // read already
		}

		if d.committed {
			for len(aborted) > 0 && aborted[0].firstOffset < end {
				if abortedPIDs == nil {
					abortedPIDs = map[int64]struct{}{}
				}
				abortedPIDs[aborted[0].producerID] = struct{}{}
				aborted = aborted[1:]
			}
		}
		if attrs&attrControl != 0 {
			// A transaction marker: an abort ends that producer's aborted
			// transaction. Control records are never handed on.
			if d.committed && controlIsAbort(w.B) {
				delete(abortedPIDs, producerID)
			}
			next = end
			continue
		}
		if d.committed && attrs&attrTransactional != 0 {
			if _, ok := abortedPIDs[producerID]; ok {
				next = end
				continue
			}
		}

		body := w.B
		if codec := attrs & attrCompression; codec != 0 {
			var err error
			if body, err = decompress(int8(codec), body, d.maxBatch); err != nil {
				return bad(lastDelta, err)
			}
		}
		rw := &wire{B: body}
		for range count {
			rw.Varint() // record length
			rw.Int8()   // attributes
			tsDelta := rw.Varint()
			off := base + rw.Varint()
			key := rw.Bytes(int(rw.Varint()))
			value := rw.Bytes(int(rw.Varint()))
			nh := int(rw.Varint())
			if rw.Err == nil && (nh < 0 || nh > len(rw.B)/2) {
				rw.Fail() // every header takes at least two bytes
			}
			var hdrs []runtime.Header
			if nh > 0 && rw.Err == nil {
				hdrs = make([]runtime.Header, nh)
				for i := range hdrs {
					hdrs[i].Key = string(rw.Bytes(int(rw.Varint())))
					hdrs[i].Value = rw.Bytes(int(rw.Varint()))
				}
			}
			if rw.Err != nil {
				return bad(lastDelta, rw.Err)
			}
			if off >= end {
				return bad(lastDelta, fmt.Errorf("record offset %d beyond the batch's last %d", off, end-1))
			}
			if off < next {
				// A fetch inside a batch returns all of it; offsets going
				// backwards within a batch would be corrupt data.
				continue
			}
			ts := baseTime + tsDelta
			if attrs&attrLogAppendTime != 0 {
				ts = maxTime
			}
			for i := range hdrs {
				hdrs[i].Value = d.keep(hdrs[i].Value)
			}
			recs = append(recs, runtime.Record{
				Topic: d.topic, Partition: d.partition, Offset: off,
				Key: d.keep(key), Value: d.keep(value), Headers: hdrs, Time: time.UnixMilli(ts),
			})
			next = off + 1
		}
		next = end
	}
	return recs, next, nil
}

// controlIsAbort reads the key of a control batch's first record: version
// int16, type int16 (0 abort, 1 commit).
func controlIsAbort(records []byte) bool {
	w := &wire{B: records}
	w.Varint() // length
	w.Int8()
	w.Varint()
	w.Varint()
	key := w.Bytes(int(w.Varint()))
	if w.Err != nil || len(key) < 4 {
		return false
	}
	return binary.BigEndian.Uint16(key[2:]) == 0
}

// decompress returns the records of a compressed batch, refusing more
// than limit bytes (0: no limit). No codec may allocate from a size the
// data claims: kafka-go's snappy reader allocates a chunk's claimed length
// (4 GiB from a 20-byte batch) and its zstd reader a frame's claimed
// window (512 MiB from 10 bytes), so snappy and zstd are decoded here with
// the sizes checked first; gzip and lz4 keep fixed-size state (lz4 at most
// 8 MiB of block buffers) and are cut off at limit.
func decompress(code int8, b []byte, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = 1 << 62 // no limit, with room for the +1 below
	}
	var out []byte
	var err error
	switch code {
	case 2:
		out, err = snappyDecode(b, limit)
	case 4:
		out, err = zstdDecode(b, limit)
	default:
		codec := compress.Compression(code).Codec()
		if codec == nil {
			return nil, fmt.Errorf("unknown compression codec %d", code)
		}
		r := codec.NewReader(bytes.NewReader(b))
		out, err = io.ReadAll(io.LimitReader(r, limit+1))
		r.Close()
		if err == nil && int64(len(out)) > limit {
			err = errBatchTooLarge
		}
	}
	name := compress.Compression(code).String()
	switch {
	case errors.Is(err, errBatchTooLarge):
		return nil, fmt.Errorf("%s batch of %d bytes decompresses to more than %d bytes (the in-flight byte budget, processing.max_in_flight_bytes)",
			name, len(b), limit)
	case err != nil:
		return nil, fmt.Errorf("decompress %s batch: %w", name, err)
	}
	return out, nil
}

var errBatchTooLarge = errors.New("decompressed batch too large")

// xerialMagic starts the xerial framing of snappy that Kafka's Java
// client writes: 8 bytes of magic, 8 of versions, then chunks of a 4-byte
// length and a snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

func snappyDecode(b []byte, limit int64) ([]byte, error) {
	if !bytes.HasPrefix(b, xerialMagic) || len(b) < 16 {
		return snappyBlock(nil, b, limit)
	}
	b = b[16:]
	var out []byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errShort
		}
		n := int64(binary.BigEndian.Uint32(b))
		b = b[4:]
		if n > int64(len(b)) {
			return nil, fmt.Errorf("%w: xerial chunk of %d bytes in %d", errShort, n, len(b))
		}
		var err error
		if out, err = snappyBlock(out, b[:n], limit); err != nil {
			return nil, err
		}
		b = b[n:]
	}
	return out, nil
}

// snappyBlock appends the decoded block to out, checking its claimed
// length against what is left of limit before allocating.
func snappyBlock(out, block []byte, limit int64) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, err
	}
	if int64(len(out))+int64(n) > limit {
		return nil, errBatchTooLarge
	}
	start := len(out)
	out = slices.Grow(out, n)[:start+n]
	if _, err := s2.Decode(out[start:], block); err != nil {
		return nil, err
	}
	return out, nil
}

// zstdDecoders pools zstd decoders per limit: each refuses frames whose
// window or content exceeds it.
var zstdDecoders sync.Map // int64 → *sync.Pool of *zstd.Decoder

func zstdDecode(b []byte, limit int64) ([]byte, error) {
	window := uint64(min(limit, zstd.MaxWindowSize))
	pool, _ := zstdDecoders.LoadOrStore(limit, &sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(max(window, zstd.MinWindowSize)), zstd.WithDecoderMaxMemory(uint64(limit)))
		if err != nil {
			return err
		}
		return d
	}})
	p := pool.(*sync.Pool)
	v := p.Get()
	d, ok := v.(*zstd.Decoder)
	if !ok {
		return nil, v.(error)
	}
	defer p.Put(d)
	out, err := d.DecodeAll(b, nil)
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, errBatchTooLarge
	}
	return out, err
}
