package producer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/segmentio/kafka-go"
)

// The Produce v8 exchange of a leader connection, encoded and decoded by
// hand: one partition per request, so the request is a fixed header in
// front of the batch's bytes, and the response a few fixed fields.
// kafka-go's protocol.WriteRequest and ReadResponse encode by reflection
// and copy the batch through page buffers; with small batches (the
// seed's batch_size is 16 KiB) a request per ~130 records made that a
// visible part of the producer's CPU.

// produceAPIKey is Produce's API key.
const produceAPIKey = 0

// maxProduceResponse bounds a Produce response of one partition. Its
// fixed fields take ~60 bytes; the rest are record errors and messages a
// broker writes for a rejected batch. A size past it is a broken or
// hostile peer, refused before any allocation.
const maxProduceResponse = 1 << 20

// appendProduceRequest appends the Produce v8 request of a batch to
// topic/partition, everything but the batch: the caller writes the
// batch's rawLen bytes (its records field, the int32 size prefix
// included, as wire.Batch seals it) right after it. The request's size
// prefix counts them.
func appendProduceRequest(buf []byte, corr int32, clientID string, acks int16, timeoutMs int32,
	topic string, partition int32, rawLen int) []byte {
	size := 2 + 2 + 4 + 2 + len(clientID) + // header v1: api key, version, correlation id, client id
		2 + 2 + 4 + // transactional_id (null), acks, timeout_ms
		4 + 2 + len(topic) + // one topic
		4 + 4 + rawLen // one partition: index, records
	buf = binary.BigEndian.AppendUint32(buf, uint32(size))
	buf = binary.BigEndian.AppendUint16(buf, produceAPIKey)
	buf = binary.BigEndian.AppendUint16(buf, produceVersion)
	buf = binary.BigEndian.AppendUint32(buf, uint32(corr))
	buf = appendString16(buf, clientID)
	buf = binary.BigEndian.AppendUint16(buf, 0xffff) // transactional_id: null
	buf = binary.BigEndian.AppendUint16(buf, uint16(acks))
	buf = binary.BigEndian.AppendUint32(buf, uint32(timeoutMs))
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = appendString16(buf, topic)
	buf = binary.BigEndian.AppendUint32(buf, 1)
	return binary.BigEndian.AppendUint32(buf, uint32(partition))
}

func appendString16(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(s)))
	return append(buf, s...)
}

// errMalformedResponse marks a Produce response that does not parse.
var errMalformedResponse = errors.New("malformed produce response")

// readProduceResponse reads one Produce v8 response from r into *buf
// (reused) and returns its correlation id and the result for partition
// of topic: nil, the partition's error code as a kafka.Error, or
// kafka.InvalidRecord with the broker's message for a rejected record.
// readErr is a failure to read or parse the response: the connection is
// unusable after it.
func readProduceResponse(r *bufio.Reader, buf *[]byte, topic string, partition int32) (corr int32, result, readErr error) {
	var sz [4]byte
	if _, err := io.ReadFull(r, sz[:]); err != nil {
		return 0, nil, err
	}
	n := int32(binary.BigEndian.Uint32(sz[:]))
	if n < 4 || n > maxProduceResponse {
		return 0, nil, fmt.Errorf("%w: size %d, want 4 to %d", errMalformedResponse, n, maxProduceResponse)
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	d := decoder{b: b}
	corr = d.int32()
	found := false
	for range d.count() {
		name := d.bytes16()
		for range d.count() {
			index := d.int32()
			code := d.int16()
			d.skip(8 + 8 + 8) // base_offset, log_append_time_ms, log_start_offset
			var recErr error
			for range d.count() {
				d.skip(4) // batch_index
				msg := d.string16()
				if recErr == nil {
					recErr = fmt.Errorf("record rejected: %w: %s", kafka.InvalidRecord, msg)
				}
			}
			d.bytes16() // error_message
			if d.err != nil || found || string(name) != topic || index != partition {
				continue
			}
			found = true
			switch {
			case code != 0:
				result = kafka.Error(code)
			case recErr != nil:
				result = recErr
			}
		}
	}
	d.skip(4) // throttle_time_ms
	if d.err != nil {
		return corr, nil, d.err
	}
	if !found {
		return corr, nil, fmt.Errorf("%w: no result for %s/%d", errMalformedResponse, topic, partition)
	}
	return corr, result, nil
}

// decoder reads big-endian fields off b; past its end it records an
// error and returns zeros, so a caller checks err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("%w: truncated (%d bytes wanted, %d left)", errMalformedResponse, n, len(d.b))
		d.b = nil
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) skip(n int) { d.take(n) }

func (d *decoder) int16() int16 {
	if v := d.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (d *decoder) int32() int32 {
	if v := d.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

// count reads an array length; a negative one (null) is an empty array,
// and one that cannot fit in the bytes left (each element takes at least
// 4) is an error, so a hostile count never drives a long loop.
func (d *decoder) count() int {
	n := d.int32()
	if n < 0 {
		return 0
	}
	if int(n) > len(d.b)/4 {
		if d.err == nil {
			d.err = fmt.Errorf("%w: array of %d in %d bytes", errMalformedResponse, n, len(d.b))
		}
		return 0
	}
	return int(n)
}

// bytes16 reads a nullable string's bytes (null reads as none).
func (d *decoder) bytes16() []byte {
	n := d.int16()
	if n < 0 {
		return nil
	}
	return d.take(int(n))
}

func (d *decoder) string16() string { return string(d.bytes16()) }
