package producer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// produceVersion is the Produce API version of the producer's leader
// connections: the last before flexible encoding (v9); Kafka 4 serves
// v3 to v12.
const produceVersion = 8

// leaderConn is a partition writer's own connection to the partition's
// leader, with its produce requests pipelined on it. A broker handles the
// requests of one connection one at a time, in the order they came, and
// answers in that order: batches sent on one connection cannot overtake
// each other, which requests spread over kafka-go's Transport (one
// request per pooled connection, handled by the broker's threads in
// parallel) do all the time. The connection is set up like the
// fetcher's: kafka-go's Dialer for TLS and SASL, the leader looked up on
// a bootstrap broker, so a new connection always goes to the current
// leader.
type leaderConn struct {
	conn    net.Conn
	corr    int32
	hdr     []byte          // the request's header, reused
	pending chan pendingReq // in request order; closed by dropConn
	done    chan struct{}   // closed when the reader returns
}

// pendingReq is a request whose response the reader waits for.
type pendingReq struct {
	b        *recordBatch
	corr     int32
	deadline time.Time
}

// errResponseLost is what a test's loseResponse makes of a response.
var errResponseLost = errors.New("produce response lost (test)")

// dialLeader opens a connection to tp's leader, asking the bootstrap
// brokers for it, then (when none answers: the bootstrap list may name
// only brokers that are down) the brokers of the Transport's metadata.
func (p *producer) dialLeader(ctx context.Context, tp topicPartition) (net.Conn, error) {
	addrs := p.cfg.Brokers
	var last error
	for i := 0; i < len(addrs); i++ {
		leader, err := rkafka.LookupLeader(ctx, p.dialer, addrs[i], tp.topic, tp.partition)
		if err != nil {
			last = err
			if i == len(addrs)-1 && len(addrs) == len(p.cfg.Brokers) && ctx.Err() == nil {
				addrs = append(slices.Clone(addrs), p.knownBrokers(ctx)...)
			}
			continue
		}
		conn, _, err := rkafka.DialRaw(ctx, p.dialer, leader, 0)
		if err != nil {
			return nil, fmt.Errorf("dial leader %s of %s/%d: %w", leader, tp.topic, tp.partition, err)
		}
		return conn, nil
	}
	return nil, last
}

// knownBrokers are the brokers of the Transport's cached metadata that
// are not bootstrap brokers.
func (p *producer) knownBrokers(ctx context.Context) []string {
	res, err := p.client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil
	}
	var out []string
	for _, b := range res.Brokers {
		if a := net.JoinHostPort(b.Host, strconv.Itoa(b.Port)); !slices.Contains(p.cfg.Brokers, a) {
			out = append(out, a)
		}
	}
	return out
}

// sendOnConn writes b's request on the partition's leader connection,
// opening one when there is none; its result comes back on w.results
// (at once with acks 0, which has no response). An error means nothing
// was sent.
func (w *partWriter) sendOnConn(b *recordBatch, deadline time.Time) error {
	p := w.p
	if w.lc == nil {
		ctx, cancel := context.WithDeadline(p.ctx, deadline)
		conn, err := p.dialLeader(ctx, w.tp)
		cancel()
		if err != nil {
			return err
		}
		w.lc = &leaderConn{conn: conn, pending: make(chan pendingReq, cap(w.results)), done: make(chan struct{})}
		p.wg.Add(1)
		go func(lc *leaderConn) {
			defer p.wg.Done()
			lc.read(w.results, p.loseResponse, w.tp.topic, int32(w.tp.partition))
		}(w.lc)
	}
	lc := w.lc
	lc.corr++
	timeout := max(time.Until(deadline), time.Millisecond)
	lc.hdr = appendProduceRequest(lc.hdr[:0], lc.corr, p.dialer.ClientID, int16(p.acks),
		int32(min(timeout, p.cfg.RequestTimeout)/time.Millisecond), w.tp.topic, int32(w.tp.partition), len(b.raw))
	_ = lc.conn.SetWriteDeadline(deadline)
	bufs := net.Buffers{lc.hdr, b.raw} // one writev on a plain connection
	if _, err := bufs.WriteTo(lc.conn); err != nil {
		w.dropConn()
		return fmt.Errorf("produce request: %w", err)
	}
	if p.acks == kafka.RequireNone {
		w.results <- sendResult{b, nil}
		return nil
	}
	lc.pending <- pendingReq{b: b, corr: lc.corr, deadline: deadline}
	return nil
}

// dropConn closes the leader connection: the responses still pending
// fail, and the next request connects to the leader afresh.
func (w *partWriter) dropConn() {
	if w.lc == nil {
		return
	}
	close(w.lc.pending)
	_ = w.lc.conn.Close()
	w.lc = nil
}

// read delivers the responses of lc's requests, in order, to results;
// once the connection fails, every request pending fails with that error.
// It returns when pending is closed and drained.
func (lc *leaderConn) read(results chan<- sendResult, lose func() bool, topic string, partition int32) {
	defer close(lc.done)
	br := bufio.NewReaderSize(lc.conn, 4<<10)
	var buf []byte
	var broken error
	for pr := range lc.pending {
		if broken != nil {
			results <- sendResult{pr.b, broken}
			continue
		}
		_ = lc.conn.SetReadDeadline(pr.deadline)
		corr, result, err := readProduceResponse(br, &buf, topic, partition)
		if err == nil && corr != pr.corr {
			err = fmt.Errorf("correlation id %d, want %d", corr, pr.corr)
		}
		if err == nil && lose != nil && lose() {
			err = errResponseLost
		}
		if err != nil {
			broken = fmt.Errorf("produce response: %w", err)
			_ = lc.conn.Close()
			results <- sendResult{pr.b, broken}
			continue
		}
		results <- sendResult{pr.b, result}
	}
}

// keepsConn reports whether err, a produce result, leaves the leader
// connection usable: the broker answered, about the batch itself or our
// sequence. Anything else (leadership moved, a timeout, the connection
// broke) gets a new connection to the current leader.
func keepsConn(err error) bool {
	return err == nil || errors.Is(err, kafka.OutOfOrderSequenceNumber) || errors.Is(err, kafka.DuplicateSequenceNumber) ||
		tooLarge(err) || errors.Is(err, kafka.NotEnoughReplicas) || errors.Is(err, kafka.NotEnoughReplicasAfterAppend)
}
