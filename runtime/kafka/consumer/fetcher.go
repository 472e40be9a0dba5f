package consumer

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchAPI "github.com/segmentio/kafka-go/protocol/fetch"

	"github.com/kgen-dev/kgen/runtime"
	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// fetchVersion is the Fetch API version the fetcher speaks: the last one
// before flexible encoding, served by Kafka 0.11 (2.1 for v11's fields)
// up to 4.x, which dropped only v0–v3.
const fetchVersion = 11

// partitionFetcher fetches one partition over its own connection to the
// partition's leader. The connection is set up by kafka-go's Dialer (TLS
// and SASL included); requests are encoded by kafka-go's protocol package
// and responses decoded in place by batchDecoder.
type partitionFetcher struct {
	cfg       *Config
	dialer    *kafka.Dialer
	tlsCfg    *tls.Config   // applied by the fetcher: the Dialer's TLS is nil
	client    *kafka.Client // ListOffsets, routed to the leader
	topic     string
	partition int32
	dec       batchDecoder

	conn net.Conn
	br   *bufio.Reader
	corr int32
	body []byte // response buffer, reused: the decoder copies records out
	// throttled is when the broker's last throttle_time_ms ends: the next
	// request waits until then rather than being held by the broker past
	// its deadline.
	throttled time.Time
	// sleep waits d or until ctx ends (a test hook).
	sleep func(ctx context.Context, d time.Duration)
}

func newPartitionFetcher(cfg *Config, d *kafka.Dialer, tlsCfg *tls.Config, client *kafka.Client, topic string, partition int) *partitionFetcher {
	return &partitionFetcher{cfg: cfg, dialer: d, tlsCfg: tlsCfg, client: client, topic: topic, partition: int32(partition),
		dec: batchDecoder{topic: topic, partition: int32(partition), committed: cfg.IsolationLevel == "read_committed",
			skipCRC: cfg.SkipCRCCheck, maxBatch: cfg.MaxBatchBytes},
		sleep: sleepCtx}
}

// afterFunc is context.AfterFunc; tests replace it to run the callback
// when they choose (it runs in a goroutine of its own, at any time after
// the context ends, possibly after fetch returned).
var afterFunc = context.AfterFunc

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// connect opens a connection to the partition's leader, found through
// the bootstrap brokers.
func (f *partitionFetcher) connect(ctx context.Context) error {
	f.close()
	var last error
	for _, addr := range f.cfg.Brokers {
		lctx, cancel := context.WithTimeout(ctx, rkafka.DialTimeout)
		leader, err := rkafka.LookupLeader(lctx, f.dialer, addr, f.topic, int(f.partition))
		cancel()
		if err != nil {
			last = err
			continue
		}
		conn, _, err := rkafka.DialRaw(ctx, f.dialer, leader, rkafka.DialTimeout)
		if err != nil {
			return fmt.Errorf("dial leader %s of %s/%d: %w", leader, f.topic, f.partition, err)
		}
		f.conn, f.br = conn, bufio.NewReaderSize(conn, 64<<10)
		return nil
	}
	return last
}

// resolve turns the FirstOffset/LastOffset sentinels into a real offset
// with ListOffsets at the partition's leader. Under read_committed,
// "latest" is the last stable offset. Any failure (leader moved, timeout,
// broker away) is returned with which unchanged: the caller retries, and
// never starts from a guessed offset.
func (f *partitionFetcher) resolve(ctx context.Context, which int64) (int64, error) {
	iso := kafka.ReadUncommitted
	if f.dec.committed {
		iso = kafka.ReadCommitted
	}
	lctx, cancel := context.WithTimeout(ctx, rkafka.DialTimeout)
	defer cancel()
	resp, err := f.client.ListOffsets(lctx, &kafka.ListOffsetsRequest{
		Topics:         map[string][]kafka.OffsetRequest{f.topic: {{Partition: int(f.partition), Timestamp: which}}},
		IsolationLevel: iso,
	})
	if err != nil {
		return which, fmt.Errorf("list offsets of %s/%d: %w", f.topic, f.partition, err)
	}
	for _, p := range resp.Topics[f.topic] {
		if p.Partition != int(f.partition) {
			continue
		}
		if p.Error != nil {
			return which, fmt.Errorf("list offsets of %s/%d: %w", f.topic, f.partition, p.Error)
		}
		off := p.LastOffset
		if which == kafka.FirstOffset {
			off = p.FirstOffset
		}
		if off < 0 {
			return which, fmt.Errorf("list offsets of %s/%d: no offset in the answer", f.topic, f.partition)
		}
		return off, nil
	}
	return which, fmt.Errorf("list offsets: answer without %s/%d", f.topic, f.partition)
}

func (f *partitionFetcher) close() {
	if f.conn != nil {
		f.conn.Close()
		f.conn, f.br = nil, nil
	}
}

// fetch asks for records at offset and appends those it gets to recs. It
// returns the next offset to fetch and the high watermark (-1 unknown).
// A broker error for the partition is returned as a kafka.Error; a network
// or decoding error leaves the fetcher disconnected.
func (f *partitionFetcher) fetch(ctx context.Context, offset int64, recs []runtime.Record) ([]runtime.Record, int64, int64, error) {
	if wait := time.Until(f.throttled); wait > 0 {
		f.sleep(ctx, wait)
		if ctx.Err() != nil {
			return recs, offset, -1, ctx.Err()
		}
	}
	if f.conn == nil {
		if err := f.connect(ctx); err != nil {
			return recs, offset, -1, err
		}
	}
	// The callback may run after an error path closed the connection and
	// cleared f.conn (the context ends while fetch returns): it holds its
	// own reference, and a deadline on a closed connection is harmless.
	conn := f.conn
	stop := afterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(f.cfg.MaxWait + f.cfg.PollTimeout))
	body, err := f.roundTrip(offset)
	if err != nil {
		f.close()
		if ctx.Err() != nil {
			return recs, offset, -1, ctx.Err()
		}
		return recs, offset, -1, err
	}
	p, err := parseFetchResponse(body, f.topic, f.partition)
	if p.throttle > 0 {
		f.throttled = time.Now().Add(p.throttle)
	}
	switch {
	case err != nil:
		f.close()
		return recs, offset, -1, fmt.Errorf("fetch response from %s/%d: %w", f.topic, f.partition, err)
	case p.topicMissing:
		f.close()
		return recs, offset, -1, fmt.Errorf("fetch response without %s/%d", f.topic, f.partition)
	case p.err != nil:
		// Leadership moved, the partition is unknown here, or the offset
		// is out of range: a new connection finds the current leader.
		f.close()
		return recs, offset, p.highWater, p.err
	}
	hwm := p.highWater
	if f.dec.committed {
		hwm = p.lastStable
	}
	recs, next, err := f.dec.decode(p.records, p.aborted, recs, offset)
	return recs, next, hwm, err
}

// fetchOverhead is what a response may hold beyond its records: its
// header, the topic, the aborted-transaction list.
const fetchOverhead = 1 << 20

// maxResponse is the largest response the fetcher reads: the records it
// asked for (MaxBytes; the broker sends a first batch larger than that
// only when it alone exceeds MaxBytes, which then needs a larger
// max_partition_fetch_bytes) plus fetchOverhead. A larger size claim is
// refused before anything is allocated for it.
func (f *partitionFetcher) maxResponse() int {
	return f.cfg.MaxBytes + fetchOverhead
}

func (f *partitionFetcher) roundTrip(offset int64) ([]byte, error) {
	f.corr++
	isolation := int8(0)
	if f.dec.committed {
		isolation = 1
	}
	req := &fetchAPI.Request{
		ReplicaID:      -1,
		MaxWaitTime:    int32(f.cfg.MaxWait / time.Millisecond),
		MinBytes:       int32(f.cfg.MinBytes),
		MaxBytes:       int32(f.cfg.MaxBytes),
		IsolationLevel: isolation,
		SessionID:      0, // no fetch session: every request is a full one
		SessionEpoch:   -1,
		Topics: []fetchAPI.RequestTopic{{
			Topic: f.topic,
			Partitions: []fetchAPI.RequestPartition{{
				Partition:          f.partition,
				CurrentLeaderEpoch: -1,
				FetchOffset:        offset,
				LogStartOffset:     -1,
				PartitionMaxBytes:  int32(f.cfg.MaxBytes),
			}},
		}},
	}
	if err := protocol.WriteRequest(f.conn, fetchVersion, f.corr, f.dialer.ClientID, req); err != nil {
		return nil, fmt.Errorf("fetch request: %w", err)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(f.br, hdr[:]); err != nil {
		return nil, fmt.Errorf("fetch response: %w", err)
	}
	size := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if corr := int32(binary.BigEndian.Uint32(hdr[4:])); corr != f.corr {
		return nil, fmt.Errorf("fetch response: correlation id %d, want %d", corr, f.corr)
	}
	if limit := f.maxResponse(); size < 4 || size > limit {
		return nil, fmt.Errorf("fetch response: size %d out of range (at most %d: max_partition_fetch_bytes %d plus %d of overhead)",
			size, limit, f.cfg.MaxBytes, fetchOverhead)
	}
	if cap(f.body) < size-4 {
		f.body = make([]byte, size-4)
	}
	body := f.body[:size-4]
	if _, err := io.ReadFull(f.br, body); err != nil {
		return nil, fmt.Errorf("fetch response: %w", err)
	}
	return body, nil
}
