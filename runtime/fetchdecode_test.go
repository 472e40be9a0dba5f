package runtime

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// testBatch is one record batch for the decoder tests.
type testBatch struct {
	base     int64
	n        int
	codec    kafka.Compression
	attrs    int16 // extra attribute bits (transactional, control, log append time)
	producer int64
	key      []byte // every record's key when set (control batches)
}

// encodeBatches writes batches with the producer's encoder, then patches
// base offset, attributes and producer id into the header.
func encodeBatches(t *testing.T, bs ...testBatch) []byte {
	t.Helper()
	var out []byte
	for _, tb := range bs {
		b := newRecordBatch()
		for i := range tb.n {
			off := tb.base + int64(i)
			m := Message{Key: fmt.Appendf(nil, "k%d", off), Value: fmt.Appendf(nil, "v%d", off),
				Headers: []Header{{Key: "off", Value: fmt.Appendf(nil, "%d", off)}}}
			if tb.key != nil {
				m = Message{Key: tb.key, Value: []byte{0, 0, 0, 0, 0, 0}}
			}
			b.add(&m, 1_700_000_000_000+off, &ackToken{})
		}
		var scratch []byte
		raw, err := b.seal(tb.codec.Codec(), &scratch)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.Clone(raw[sizeLen:])
		b.free()
		be := binary.BigEndian
		be.PutUint64(raw, uint64(tb.base))
		a := be.Uint16(raw[offAttributes-sizeLen:]) | uint16(tb.attrs)
		be.PutUint16(raw[offAttributes-sizeLen:], a)
		if tb.producer != 0 {
			be.PutUint64(raw[offProducerID-sizeLen:], uint64(tb.producer))
		}
		fixCRC(raw)
		out = append(out, raw...)
	}
	return out
}

// fixCRC rewrites the CRC32C of the batch that starts raw (at its base
// offset) after a test patched its header.
func fixCRC(raw []byte) {
	binary.BigEndian.PutUint32(raw[offCRC-sizeLen:], crc32.Checksum(raw[offAttributes-sizeLen:], castagnoli))
}

func offsets(recs []Record) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Offset)
	}
	return out
}

func TestBatchDecoder(t *testing.T) {
	abortKey, commitKey := []byte{0, 0, 0, 0}, []byte{0, 0, 0, 1}
	three := []testBatch{{base: 0, n: 5}, {base: 5, n: 3, codec: kafka.Gzip}, {base: 8, n: 4, codec: kafka.Zstd}}
	tests := []struct {
		name      string
		batches   []testBatch
		cut       int // bytes cut off the end
		from      int64
		committed bool
		aborted   []abortedTxn
		want      []int64
		next      int64
	}{
		{name: "all", batches: three, want: seq(0, 12), next: 12},
		{name: "from inside a batch", batches: three, from: 6, want: seq(6, 12), next: 12},
		{name: "truncated last batch", batches: three, cut: 10, want: seq(0, 8), next: 8},
		{name: "only a truncated batch", batches: three[:1], cut: 1, want: nil, next: 0},
		{name: "control batch last", batches: []testBatch{{base: 0, n: 2}, {base: 2, n: 1, attrs: attrControl | attrTransactional, producer: 7, key: commitKey}},
			want: seq(0, 2), next: 3},
		{name: "compacted gap", batches: []testBatch{{base: 0, n: 2}, {base: 10, n: 2}}, want: []int64{0, 1, 10, 11}, next: 12},
		{name: "aborted skipped when read_committed",
			batches: []testBatch{
				{base: 0, n: 2, attrs: attrTransactional, producer: 7},
				{base: 2, n: 2, attrs: attrTransactional, producer: 8},
				{base: 4, n: 1, attrs: attrControl | attrTransactional, producer: 7, key: abortKey},
				{base: 5, n: 1, attrs: attrControl | attrTransactional, producer: 8, key: commitKey},
				{base: 6, n: 2, attrs: attrTransactional, producer: 7}, // a later transaction of 7, committed
			},
			committed: true, aborted: []abortedTxn{{producerID: 7, firstOffset: 0}},
			want: []int64{2, 3, 6, 7}, next: 8},
		{name: "aborted kept when read_uncommitted",
			batches: []testBatch{
				{base: 0, n: 2, attrs: attrTransactional, producer: 7},
				{base: 2, n: 1, attrs: attrControl | attrTransactional, producer: 7, key: abortKey},
			},
			aborted: []abortedTxn{{producerID: 7, firstOffset: 0}},
			want:    []int64{0, 1}, next: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeBatches(t, tt.batches...)
			data = data[:len(data)-tt.cut]
			d := batchDecoder{topic: "t", partition: 3, committed: tt.committed}
			recs, next, err := d.decode(data, tt.aborted, nil, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			clear(data) // the fetcher reuses the response buffer: records must not point into it
			if got := offsets(recs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("offsets %v, want %v", got, tt.want)
			}
			if next != tt.next {
				t.Errorf("next %d, want %d", next, tt.next)
			}
			for _, r := range recs {
				if r.Topic != "t" || r.Partition != 3 {
					t.Errorf("record at %s/%d", r.Topic, r.Partition)
				}
				if r.Key == nil || string(r.Key) != fmt.Sprintf("k%d", r.Offset) || string(r.Value) != fmt.Sprintf("v%d", r.Offset) {
					t.Errorf("offset %d: key %q value %q", r.Offset, r.Key, r.Value)
				}
				if len(r.Headers) != 1 || r.Headers[0].Key != "off" || string(r.Headers[0].Value) != fmt.Sprint(r.Offset) {
					t.Errorf("offset %d: headers %v", r.Offset, r.Headers)
				}
				if ms := r.Time.UnixMilli(); ms != 1_700_000_000_000+r.Offset {
					t.Errorf("offset %d: time %d", r.Offset, ms)
				}
				if cap(r.Key) != len(r.Key) || cap(r.Value) != len(r.Value) {
					t.Errorf("offset %d: key or value can be appended to in place", r.Offset)
				}
			}
		})
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestBatchDecoderLogAppendTime(t *testing.T) {
	data := encodeBatches(t, testBatch{base: 0, n: 3, attrs: attrLogAppendTime})
	d := batchDecoder{topic: "t"}
	recs, _, err := d.decode(data, nil, nil, 0)
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
	for _, r := range recs {
		if ms := r.Time.UnixMilli(); ms != 1_700_000_000_002 {
			t.Errorf("offset %d: time %d, want the batch's max timestamp", r.Offset, ms)
		}
	}
}

func TestBatchDecoderErrors(t *testing.T) {
	good := encodeBatches(t, testBatch{base: 0, n: 2}, testBatch{base: 2, n: 2}, testBatch{base: 4, n: 2})
	first := len(encodeBatches(t, testBatch{base: 0, n: 2}))
	second := 2 * first
	oldFormat := bytes.Clone(good)
	oldFormat[16] = 1 // magic of the first batch
	corrupt := bytes.Clone(good)
	// The second batch's records claim a key longer than the batch.
	corrupt[first+batchHeaderLen+4] = 0x7e
	badCRC := bytes.Clone(corrupt)
	fixCRC(corrupt[first:second])
	unknownCodec := bytes.Clone(good)
	unknownCodec[first+offAttributes-sizeLen+1] |= 5
	fixCRC(unknownCodec[first:second])
	tests := []struct {
		name, data string
		want       string
		wantRecs   int
		wantNext   int64 // the offset a failure policy steps over to
	}{
		{"old format", string(oldFormat), "format v1", 0, 2},
		{"corrupt record", string(corrupt), "truncated", 2, 4},
		{"CRC mismatch", string(badCRC), "CRC mismatch", 2, 4},
		{"unknown codec", string(unknownCodec), "unknown compression codec 5", 2, 4},
		{"last batch CRC mismatch", string(badCRC[:second]), "CRC mismatch", 2, 4},
	}
	for _, tt := range tests {
		d := batchDecoder{topic: "t", partition: 1}
		recs, next, err := d.decode([]byte(tt.data), nil, nil, 0)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "t/1") {
			t.Errorf("%s: err = %v, want it to name t/1 and say %q", tt.name, err, tt.want)
		}
		if len(recs) != tt.wantRecs || next != int64(tt.wantRecs) {
			t.Errorf("%s: %d records, next %d; want the %d of the good batches before it", tt.name, len(recs), next, tt.wantRecs)
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not a *DecodeError", tt.name, err)
			continue
		}
		if de.Offset != int64(tt.wantRecs) || de.Next != tt.wantNext || len(de.Batch) == 0 {
			t.Errorf("%s: bad batch at %d, next %d, %d bytes; want at %d, next %d", tt.name, de.Offset, de.Next, len(de.Batch), tt.wantRecs, tt.wantNext)
		}
	}
	// check_crcs=false: the damaged batch's records are read as they are.
	d := batchDecoder{topic: "t", partition: 1, skipCRC: true}
	if recs, _, err := d.decode(bytes.Clone(good), nil, nil, 0); err != nil || len(recs) != 6 {
		t.Fatalf("skipCRC on good data: %d records, %v", len(recs), err)
	}
}

// TestBatchDecoderAbortedUnsorted: the broker lists aborted transactions
// in no promised order; an abort listed after a later one must still
// drop its records.
func TestBatchDecoderAbortedUnsorted(t *testing.T) {
	abortKey := []byte{0, 0, 0, 0}
	data := encodeBatches(t,
		testBatch{base: 0, n: 2, attrs: attrTransactional, producer: 7}, // aborted (listed second)
		testBatch{base: 2, n: 1, attrs: attrTransactional | attrControl, producer: 7, key: abortKey},
		testBatch{base: 3, n: 2, attrs: attrTransactional, producer: 8}, // aborted (listed first)
		testBatch{base: 5, n: 1, attrs: attrTransactional | attrControl, producer: 8, key: abortKey},
		testBatch{base: 6, n: 2},
	)
	d := batchDecoder{topic: "t", committed: true}
	aborted := []abortedTxn{{producerID: 8, firstOffset: 3}, {producerID: 7, firstOffset: 0}}
	recs, next, err := d.decode(data, aborted, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := offsets(recs); !slices.Equal(got, []int64{6, 7}) || next != 8 {
		t.Fatalf("records %v, next %d; want [6 7], next 8 (aborted ones dropped)", got, next)
	}
}

// FuzzBatchDecoder: no input makes the decoder panic, and whatever it
// returns is in offset order at or after the fetch offset.
func FuzzBatchDecoder(f *testing.F) {
	f.Add(encodeBatches(&testing.T{}, testBatch{base: 0, n: 3}, testBatch{base: 3, n: 2, codec: kafka.Snappy}), int64(1))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, from int64) {
		d := batchDecoder{topic: "t", committed: from%2 == 0, skipCRC: from%3 == 0, maxBatch: 1 << 20}
		recs, next, _ := d.decode(data, []abortedTxn{{producerID: 1, firstOffset: 0}}, nil, from)
		last := from - 1
		for _, r := range recs {
			if r.Offset <= last {
				t.Fatalf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
		}
		if len(recs) > 0 && next <= last {
			t.Fatalf("next %d not past the last record %d", next, last)
		}
	})
}

func TestParseFetchResponse(t *testing.T) {
	batch := encodeBatches(t, testBatch{base: 40, n: 2})
	body := func(topic string, partition int32, code int16, records []byte) []byte {
		var b []byte
		be := binary.BigEndian
		b = be.AppendUint32(b, 0) // throttle
		b = be.AppendUint16(b, 0) // error
		b = be.AppendUint32(b, 0) // session
		b = be.AppendUint32(b, 1) // topics
		b = be.AppendUint16(b, uint16(len(topic)))
		b = append(b, topic...)
		b = be.AppendUint32(b, 1) // partitions
		b = be.AppendUint32(b, uint32(partition))
		b = be.AppendUint16(b, uint16(code))
		b = be.AppendUint64(b, 42)         // high watermark
		b = be.AppendUint64(b, 41)         // last stable
		b = be.AppendUint64(b, 0)          // log start
		b = be.AppendUint32(b, 1)          // aborted txns
		b = be.AppendUint64(b, 9)          // producer
		b = be.AppendUint64(b, 30)         // first offset
		b = be.AppendUint32(b, 0xffffffff) // preferred replica -1
		b = be.AppendUint32(b, uint32(len(records)))
		return append(b, records...)
	}
	p, err := parseFetchResponse(body("t", 2, 0, batch), "t", 2)
	if err != nil || p.err != nil || p.topicMissing {
		t.Fatalf("p = %+v, err = %v", p, err)
	}
	if p.highWater != 42 || p.lastStable != 41 || len(p.aborted) != 1 || p.aborted[0] != (abortedTxn{9, 30}) || !bytes.Equal(p.records, batch) {
		t.Errorf("parsed %+v", p)
	}
	p, _ = parseFetchResponse(body("t", 2, int16(kafka.OffsetOutOfRange), nil), "t", 2)
	if !errors.Is(p.err, kafka.OffsetOutOfRange) {
		t.Errorf("partition error %v, want OffsetOutOfRange", p.err)
	}
	if p, err := parseFetchResponse(body("t", 3, 0, batch), "t", 2); err != nil || !p.topicMissing {
		t.Errorf("other partition: %+v, %v", p, err)
	}
	full := body("t", 2, 0, batch)
	for n := range len(full) - 1 {
		if _, err := parseFetchResponse(full[:n], "t", 2); err == nil {
			t.Fatalf("a response cut at %d of %d bytes parsed", n, len(full))
		}
	}
}

// BenchmarkBatchDecoder is the fetcher's per-record cost: decoding
// batches of 500 records of 100 B (10 B keys, no headers) in place. The
// kafka-go sub-benchmark decodes the same bytes with kafka-go's protocol
// package (Client.Fetch's decoder), copying keys and values out.
func BenchmarkBatchDecoder(b *testing.B) {
	data := benchBatches(b)
	b.Run("kgen", func(b *testing.B) {
		d := batchDecoder{topic: "t"}
		recs := make([]Record, 0, 2000)
		b.ReportAllocs()
		b.SetBytes(2000 * 100)
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/2000, "cpu-ns/record") }()
		for b.Loop() {
			var err error
			recs, _, err = d.decode(data, nil, recs[:0], 0)
			if err != nil || len(recs) != 2000 {
				b.Fatalf("%d records, %v", len(recs), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/record")
	})
	b.Run("kafka-go", func(b *testing.B) {
		framed := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		framed = append(framed, data...)
		b.ReportAllocs()
		b.SetBytes(2000 * 100)
		for b.Loop() {
			var rs protocol.RecordSet
			if _, err := rs.ReadFrom(bytes.NewReader(framed)); err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				r, err := rs.Records.ReadRecord()
				if err != nil {
					break
				}
				key := make([]byte, r.Key.Len())
				io.ReadFull(r.Key, key)
				value := make([]byte, r.Value.Len())
				io.ReadFull(r.Value, value)
				n++
			}
			if n != 2000 {
				b.Fatalf("%d records", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/record")
	})
}

func benchBatches(b *testing.B) []byte {
	var data []byte
	for i := range 4 {
		bt := newRecordBatch()
		for j := range 500 {
			m := Message{Key: fmt.Appendf(nil, "key-%06d", j), Value: bytes.Repeat([]byte("v"), 100)}
			bt.add(&m, 1_700_000_000_000, &ackToken{})
		}
		var scratch []byte
		raw, err := bt.seal(nil, &scratch)
		if err != nil {
			b.Fatal(err)
		}
		raw = bytes.Clone(raw[sizeLen:])
		binary.BigEndian.PutUint64(raw, uint64(i*500))
		data = append(data, raw...)
	}
	return data
}

// allocated returns the bytes f allocates (TotalAlloc: every allocation,
// freed or not). Other goroutines add noise; the bounds below are far
// above it and far below what the defects allocated.
func allocated(f func()) uint64 {
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	f()
	goruntime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// hostileHeader is a Fetch v11 response body up to the first topic's
// partition count.
func hostileHeader(topics, partitions uint32) []byte {
	be := binary.BigEndian
	var b []byte
	b = be.AppendUint32(b, 0) // throttle
	b = be.AppendUint16(b, 0) // error
	b = be.AppendUint32(b, 0) // session
	b = be.AppendUint32(b, topics)
	b = be.AppendUint16(b, 1)
	b = append(b, 't')
	return be.AppendUint32(b, partitions)
}

// TestParseFetchResponseHostile: counts and sizes in a response are the
// broker's word; nothing is allocated for more than the bytes present,
// and parsing stops at the first short read.
func TestParseFetchResponseHostile(t *testing.T) {
	be := binary.BigEndian
	abortedBomb := hostileHeader(1, 1)
	abortedBomb = be.AppendUint32(abortedBomb, 0)     // partition
	abortedBomb = be.AppendUint16(abortedBomb, 0)     // error
	abortedBomb = be.AppendUint64(abortedBomb, 0)     // high watermark
	abortedBomb = be.AppendUint64(abortedBomb, 0)     // last stable
	abortedBomb = be.AppendUint64(abortedBomb, 0)     // log start
	abortedBomb = be.AppendUint32(abortedBomb, 1<<24) // aborted transactions: 256 MiB worth
	abortedBomb = be.AppendUint64(abortedBomb, 1)     // one of them present
	tests := []struct {
		name string
		body []byte
	}{
		{"aborted count 2^24", abortedBomb},
		{"topic count 2^31", hostileHeader(1<<31-1, 1)},
		{"partition count 2^31", hostileHeader(1, 1<<31-1)},
	}
	for _, tt := range tests {
		var err error
		n := allocated(func() { _, err = parseFetchResponse(tt.body, "t", 0) })
		if err == nil {
			t.Errorf("%s: parsed", tt.name)
		}
		if n > 64<<10 {
			t.Errorf("%s: %d bytes allocated for a %d-byte response", tt.name, n, len(tt.body))
		}
	}
}

// TestBatchDecoderHostile: a batch's record count and a compressed
// batch's expansion are bounded by the bytes present and by maxBatch.
func TestBatchDecoderHostile(t *testing.T) {
	countBomb := encodeBatches(t, testBatch{base: 0, n: 1})
	binary.BigEndian.PutUint32(countBomb[batchHeaderLen-4:], 1<<31-1) // records claimed
	fixCRC(countBomb)

	// A zstd batch of 64 MiB of zeros compresses to a few KiB.
	b := newRecordBatch()
	m := Message{Value: make([]byte, 64<<20)}
	b.add(&m, 0, &ackToken{})
	var scratch []byte
	sealed, err := b.seal(kafka.Zstd.Codec(), &scratch)
	if err != nil {
		t.Fatal(err)
	}
	zstdBomb := bytes.Clone(sealed[sizeLen:])
	b.free()
	if len(zstdBomb) > 64<<10 {
		t.Fatalf("zstd batch of %d bytes: not a bomb", len(zstdBomb))
	}

	tests := []struct {
		name, want string
		data       []byte
		limit      uint64
	}{
		{"record count 2^31", "truncated", countBomb, 64 << 10},
		{"zstd 64 MiB in a small batch", "decompresses to more than", zstdBomb, 8 << 20},
	}
	for _, tt := range tests {
		d := batchDecoder{topic: "t", maxBatch: 1 << 20}
		var err error
		n := allocated(func() { _, _, err = d.decode(tt.data, nil, nil, 0) })
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want an undecodable batch saying %q", tt.name, err, tt.want)
		}
		if n > tt.limit {
			t.Errorf("%s: %d bytes allocated for a %d-byte batch, want at most %d", tt.name, n, len(tt.data), tt.limit)
		}
	}
}

// TestFetchResponseSizeBounded: a response header claiming more than the
// fetch asked for (plus overhead) is refused before anything is allocated
// for it.
func TestFetchResponseSizeBounded(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		var size [4]byte
		if _, err := io.ReadFull(server, size[:]); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, server, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
			return
		}
		hdr := binary.BigEndian.AppendUint32(nil, 1<<30) // 1 GiB claimed
		hdr = binary.BigEndian.AppendUint32(hdr, 1)      // correlation id
		server.Write(hdr)
	}()
	cfg := withMaxBatch(kafkaConsumerDefaults(KafkaConsumerConfig{}), 64<<20)
	f := newPartitionFetcher(&cfg, &kafka.Dialer{}, nil, nil, "t", 0)
	f.conn, f.br = client, bufio.NewReader(client)
	var err error
	n := allocated(func() { _, err = f.roundTrip(0) })
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("roundTrip: %v, want the size refused", err)
	}
	if n > 1<<20 {
		t.Fatalf("%d bytes allocated for a refused 1 GiB claim", n)
	}
}

// FuzzFetchResponse: no response makes the parser and decoder panic, loop
// on, or allocate more than a bounded multiple of its size (plus the
// decompression bound); records come out in offset order.
func FuzzFetchResponse(f *testing.F) {
	batches := encodeBatches(&testing.T{}, testBatch{base: 0, n: 3}, testBatch{base: 3, n: 2, codec: kafka.Zstd},
		testBatch{base: 5, n: 1, attrs: attrTransactional, producer: 4},
		testBatch{base: 6, n: 1, attrs: attrTransactional | attrControl, producer: 4, key: []byte{0, 0, 0, 0}})
	f.Add(fetchBody{topic: "t", highWater: 7, stable: 7, records: batches}.bytes())
	f.Add(fetchBody{topic: "t", highWater: 7, stable: 7, aborted: []abortedTxn{{4, 5}, {2, 0}}, records: batches}.bytes())
	f.Add(hostileHeader(1<<31-1, 1))
	f.Fuzz(func(t *testing.T, body []byte) {
		var recs []Record
		var next int64
		n := allocated(func() {
			p, err := parseFetchResponse(body, "t", 0)
			if err != nil || p.topicMissing {
				return
			}
			d := batchDecoder{topic: "t", committed: len(body)%2 == 0, skipCRC: len(body)%3 == 0, maxBatch: 1 << 20}
			recs, next, _ = d.decode(p.records, p.aborted, nil, 0)
		})
		if limit := 8<<20 + 256*uint64(len(body)); n > limit {
			t.Fatalf("%d bytes allocated for a %d-byte response (limit %d)", n, len(body), limit)
		}
		last := int64(-1)
		for _, r := range recs {
			if r.Offset <= last {
				t.Fatalf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
		}
		if len(recs) > 0 && next <= last {
			t.Fatalf("next %d not past the last record %d", next, last)
		}
	})
}

// TestDecompressBombs: a few bytes claiming a huge snappy chunk or zstd
// window are refused without allocating what they claim (kafka-go's
// readers allocated 1 GiB and 512 MiB for these).
func TestDecompressBombs(t *testing.T) {
	snappyBlock := binary.AppendUvarint(nil, 1<<30) // decoded length claimed
	snappyBlock = append(snappyBlock, 0x00, 'x')
	xerial := append(bytes.Clone(xerialMagic), 0, 0, 0, 1, 0, 0, 0, 1)
	xerial = binary.BigEndian.AppendUint32(xerial, uint32(len(snappyBlock)))
	xerial = append(xerial, snappyBlock...)
	xerialChunk := append(bytes.Clone(xerialMagic), 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff) // 4 GiB chunk claimed
	zstdWindow := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x98, 0x09, 0x00, 0x00, 'x'}                 // 512 MiB window, 1 byte
	tests := []struct {
		name string
		code int8
		data []byte
	}{
		{"snappy block", 2, snappyBlock},
		{"xerial snappy", 2, xerial},
		{"xerial chunk length", 2, xerialChunk},
		{"zstd window", 4, zstdWindow},
	}
	for _, tt := range tests {
		var err error
		n := allocated(func() { _, err = decompress(tt.code, tt.data, 1<<20) })
		if err == nil {
			t.Errorf("%s: decompressed", tt.name)
		}
		if n > 4<<20 {
			t.Errorf("%s: %d bytes allocated for %d bytes of input", tt.name, n, len(tt.data))
		}
	}
	// Within the limit, the same codecs decode.
	for _, c := range []kafka.Compression{kafka.Snappy, kafka.Zstd, kafka.Gzip, kafka.Lz4} {
		d := batchDecoder{topic: "t", maxBatch: 1 << 20}
		recs, _, err := d.decode(encodeBatches(t, testBatch{base: 0, n: 50, codec: c}), nil, nil, 0)
		if err != nil || len(recs) != 50 {
			t.Errorf("%s: %d records, %v", c, len(recs), err)
		}
	}
}
