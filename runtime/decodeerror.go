package runtime

import "fmt"

// DecodeError is a record batch a Source cannot decode (the Kafka
// consumer's fetcher: an unknown codec, a CRC mismatch, a corrupt or truncated batch, or the old message
// format (v0/v1)). Unlike a network or broker error, fetching the same
// offset again returns the same bytes, so the partition is stuck at Offset
// until the failure policy steps over the batch (to Next).
type DecodeError struct {
	Topic     string
	Partition int32
	// Offset is the first offset of the batch; Next the offset after it
	// (the next batch's base offset when the response holds one, else the
	// batch's own last offset + 1).
	Offset, Next int64
	// Batch is the raw batch as fetched (for a dead-letter record).
	Batch []byte
	Err   error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s/%d offset %d: undecodable record batch: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
