package consumer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/apiversions"
	fetchAPI "github.com/segmentio/kafka-go/protocol/fetch"
	"github.com/segmentio/kafka-go/protocol/findcoordinator"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
	"github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/offsetcommit"
	"github.com/segmentio/kafka-go/protocol/offsetfetch"
)

// fakeBroker is an in-process single-node Kafka broker for the consumer's
// fault tests: it answers ApiVersions, Metadata and ListOffsets itself and
// hands Fetch and ListOffsets to the test's functions. Every topic it
// knows is led by itself.
type fakeBroker struct {
	t    *testing.T
	ln   net.Listener
	host string
	port int

	mu     sync.Mutex
	topics map[string]int // partitions per topic
	// listOffsets answers one partition's ListOffsets (timestamp -1 latest,
	// -2 earliest): the offset and an error code.
	listOffsets func(topic string, partition int32, timestamp int64, isolation int8) (int64, int16)
	// fetch answers one Fetch with the response body after the correlation
	// id (see fetchBody); nil closes the connection.
	fetch func(req *fetchAPI.Request) []byte
	// coordinatorErr answers FindCoordinator with this error code when set.
	coordinatorErr int16
	// committed holds the group's offsets (OffsetCommit/OffsetFetch);
	// commits lists each OffsetCommit's partitions.
	committed map[string]map[int32]int64
	commits   [][]string
	// commitErr answers every partition of an OffsetCommit with this error
	// code when set (nothing is committed); commitIDs lists each
	// OffsetCommit's "generation/member".
	commitErr int16
	commitIDs []string
	requests  map[protocol.ApiKey]int
	conns     []net.Conn
	wg        sync.WaitGroup
}

func newFakeBroker(t *testing.T, topics map[string]int) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	b := &fakeBroker{t: t, ln: ln, host: host, topics: topics, requests: map[protocol.ApiKey]int{},
		committed: map[string]map[int32]int64{}}
	b.port, _ = strconv.Atoi(port)
	b.listOffsets = func(string, int32, int64, int8) (int64, int16) { return 0, 0 }
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(b.close)
	return b
}

func (b *fakeBroker) addr() string { return b.ln.Addr().String() }

func (b *fakeBroker) close() {
	b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// committedOffset returns the group's committed offset of topic/partition
// (-1 none).
func (b *fakeBroker) committedOffset(topic string, partition int32) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if off, ok := b.committed[topic][partition]; ok {
		return off
	}
	return -1
}

func (b *fakeBroker) count(k protocol.ApiKey) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests[k]
}

func (b *fakeBroker) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer c.Close()
			b.serveConn(c)
		}()
	}
}

func (b *fakeBroker) serveConn(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		version, corr, _, msg, err := protocol.ReadRequest(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) {
				b.t.Logf("fake broker: %v", err)
			}
			return
		}
		b.mu.Lock()
		b.requests[msg.ApiKey()]++
		b.mu.Unlock()
		var resp protocol.Message
		switch req := msg.(type) {
		case *apiversions.Request:
			resp = &apiversions.Response{ApiKeys: []apiversions.ApiKeyResponse{
				{ApiKey: int16(protocol.Fetch), MinVersion: 4, MaxVersion: 11},
				{ApiKey: int16(protocol.ListOffsets), MinVersion: 1, MaxVersion: 5},
				{ApiKey: int16(protocol.Metadata), MinVersion: 0, MaxVersion: 8},
				{ApiKey: int16(protocol.ApiVersions), MinVersion: 0, MaxVersion: 2},
				{ApiKey: int16(protocol.FindCoordinator), MinVersion: 0, MaxVersion: 2},
				{ApiKey: int16(protocol.OffsetFetch), MinVersion: 1, MaxVersion: 5},
				{ApiKey: int16(protocol.OffsetCommit), MinVersion: 2, MaxVersion: 7},
			}}
		case *findcoordinator.Request:
			b.mu.Lock()
			code := b.coordinatorErr
			b.mu.Unlock()
			resp = &findcoordinator.Response{ErrorCode: code, NodeID: 1, Host: b.host, Port: int32(b.port)}
		case *offsetfetch.Request:
			out := &offsetfetch.Response{}
			b.mu.Lock()
			for _, tp := range req.Topics {
				rt := offsetfetch.ResponseTopic{Name: tp.Name}
				for _, p := range tp.PartitionIndexes {
					off, ok := b.committed[tp.Name][p]
					if !ok {
						off = -1
					}
					rt.Partitions = append(rt.Partitions, offsetfetch.ResponsePartition{PartitionIndex: p, CommittedOffset: off})
				}
				out.Topics = append(out.Topics, rt)
			}
			b.mu.Unlock()
			resp = out
		case *offsetcommit.Request:
			out := &offsetcommit.Response{}
			var parts []string
			b.mu.Lock()
			b.commitIDs = append(b.commitIDs, strconv.Itoa(int(req.GenerationID))+"/"+req.MemberID)
			for _, tp := range req.Topics {
				rt := offsetcommit.ResponseTopic{Name: tp.Name}
				for _, p := range tp.Partitions {
					if b.commitErr != 0 {
						rt.Partitions = append(rt.Partitions, offsetcommit.ResponsePartition{PartitionIndex: p.PartitionIndex, ErrorCode: b.commitErr})
						continue
					}
					if b.committed[tp.Name] == nil {
						b.committed[tp.Name] = map[int32]int64{}
					}
					b.committed[tp.Name][p.PartitionIndex] = p.CommittedOffset
					parts = append(parts, tp.Name+"/"+strconv.Itoa(int(p.PartitionIndex)))
					rt.Partitions = append(rt.Partitions, offsetcommit.ResponsePartition{PartitionIndex: p.PartitionIndex})
				}
				out.Topics = append(out.Topics, rt)
			}
			b.commits = append(b.commits, parts)
			b.mu.Unlock()
			resp = out
		case *metadata.Request:
			resp = b.metadata(req)
		case *listoffsets.Request:
			out := &listoffsets.Response{}
			for _, tp := range req.Topics {
				rt := listoffsets.ResponseTopic{Topic: tp.Topic}
				for _, p := range tp.Partitions {
					b.mu.Lock()
					f := b.listOffsets
					b.mu.Unlock()
					off, code := f(tp.Topic, p.Partition, p.Timestamp, req.IsolationLevel)
					rt.Partitions = append(rt.Partitions, listoffsets.ResponsePartition{
						Partition: p.Partition, ErrorCode: code, Timestamp: -1, Offset: off, LeaderEpoch: -1})
				}
				out.Topics = append(out.Topics, rt)
			}
			resp = out
		case *fetchAPI.Request:
			b.mu.Lock()
			f := b.fetch
			b.mu.Unlock()
			var body []byte
			if f != nil {
				body = f(req)
			}
			if body == nil {
				return
			}
			hdr := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
			hdr = binary.BigEndian.AppendUint32(hdr, uint32(corr))
			if _, err := c.Write(append(hdr, body...)); err != nil {
				return
			}
			continue
		default:
			b.t.Logf("fake broker: unexpected %T", msg)
			return
		}
		if err := protocol.WriteResponse(c, version, corr, resp); err != nil {
			b.t.Logf("fake broker: write %T: %v", resp, err)
			return
		}
	}
}

func (b *fakeBroker) metadata(req *metadata.Request) *metadata.Response {
	b.mu.Lock()
	defer b.mu.Unlock()
	resp := &metadata.Response{ControllerID: 1,
		Brokers: []metadata.ResponseBroker{{NodeID: 1, Host: b.host, Port: int32(b.port)}}}
	names := req.TopicNames
	if names == nil {
		for n := range b.topics {
			names = append(names, n)
		}
	}
	for _, name := range names {
		n, ok := b.topics[name]
		rt := metadata.ResponseTopic{Name: name}
		if !ok {
			rt.ErrorCode = 3 // UNKNOWN_TOPIC_OR_PARTITION
		}
		for p := range n {
			rt.Partitions = append(rt.Partitions, metadata.ResponsePartition{PartitionIndex: int32(p), LeaderID: 1,
				LeaderEpoch: 0, ReplicaNodes: []int32{1}, IsrNodes: []int32{1}})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// fetchBody is a Fetch v11 response body for one partition.
type fetchBody struct {
	throttleMs        int32
	code              int16
	highWater, stable int64
	aborted           []abortedTxn
	records           []byte
	topic             string
	partition         int32
}

func (f fetchBody) bytes() []byte {
	be := binary.BigEndian
	var b []byte
	b = be.AppendUint32(b, uint32(f.throttleMs))
	b = be.AppendUint16(b, 0) // error
	b = be.AppendUint32(b, 0) // session
	b = be.AppendUint32(b, 1) // topics
	b = be.AppendUint16(b, uint16(len(f.topic)))
	b = append(b, f.topic...)
	b = be.AppendUint32(b, 1) // partitions
	b = be.AppendUint32(b, uint32(f.partition))
	b = be.AppendUint16(b, uint16(f.code))
	b = be.AppendUint64(b, uint64(f.highWater))
	b = be.AppendUint64(b, uint64(f.stable))
	b = be.AppendUint64(b, 0) // log start
	b = be.AppendUint32(b, uint32(len(f.aborted)))
	for _, a := range f.aborted {
		b = be.AppendUint64(b, uint64(a.producerID))
		b = be.AppendUint64(b, uint64(a.firstOffset))
	}
	b = be.AppendUint32(b, 0xffffffff) // preferred replica -1
	b = be.AppendUint32(b, uint32(len(f.records)))
	return append(b, f.records...)
}
