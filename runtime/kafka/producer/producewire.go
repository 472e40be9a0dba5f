package producer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/runtime/kafka/internal/wire"
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
	d := wire.Reader{B: b}
	corr = d.Int32()
	found := false
	// Each count is bounded by the bytes left: a topic takes at least 6, a
	// partition 36, a record error 6.
	for range d.Count(6) {
		name := d.Bytes16()
		for range d.Count(36) {
			index := d.Int32()
			code := d.Int16()
			d.Bytes(8 + 8 + 8) // base_offset, log_append_time_ms, log_start_offset
			var recErr error
			for range d.Count(6) {
				d.Int32() // batch_index
				msg := d.Bytes16()
				if recErr == nil && d.Err == nil {
					recErr = fmt.Errorf("record rejected: %w: %s", kafka.InvalidRecord, msg)
				}
			}
			d.Bytes16() // error_message
			if d.Err != nil || found || string(name) != topic || index != partition {
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
	d.Int32() // throttle_time_ms
	if d.Err != nil {
		return corr, nil, fmt.Errorf("%w: %w", errMalformedResponse, d.Err)
	}
	if !found {
		return corr, nil, fmt.Errorf("%w: no result for %s/%d", errMalformedResponse, topic, partition)
	}
	return corr, result, nil
}
