package producer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/initproducerid"
	meta "github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"
	"go.uber.org/goleak"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/internal/wire"
)

// fakeProduce is one produce request as the fake broker saw it.
type fakeProduce struct {
	partition  int
	producerID int64
	epoch      int16
	baseSeq    int32
	values     []string
}

// fakeProduceBroker is a kafka.RoundTripper standing in for a cluster of one
// broker: it answers metadata for any topic with its partitions, hands
// out producer ids, and answers each produce request with what answer
// returns (nil: success), checking idempotent producers' sequences as a
// broker does when answer lets a batch through. Requests are recorded in
// order, and so are the batches written.
type fakeProduceBroker struct {
	partitions int
	// answer decides the error of the i-th produce request (from 0); it
	// may block.
	answer func(i int, req fakeProduce) error
	// initErr, when set, is InitProducerId's error code.
	initErr kafka.Error

	mu       sync.Mutex
	produces []fakeProduce
	written  []fakeProduce
	pids     int64
	seqs     map[[2]int64][]int32 // producer id, partition → base sequences written
}

// check is the broker's sequence check of an idempotent batch; a nil
// error means write it.
func (f *fakeProduceBroker) check(fp fakeProduce) (duplicate bool, err error) {
	if fp.producerID < 0 {
		return false, nil
	}
	if f.seqs == nil {
		f.seqs = map[[2]int64][]int32{}
	}
	k := [2]int64{fp.producerID, int64(fp.partition)}
	seqs := f.seqs[k]
	if len(seqs) == 0 {
		return false, nil // a new producer may start anywhere
	}
	for _, s := range seqs[max(0, len(seqs)-5):] {
		if s == fp.baseSeq {
			return true, nil
		}
	}
	var last fakeProduce
	for _, w := range f.written {
		if w.producerID == fp.producerID && w.partition == fp.partition {
			last = w
		}
	}
	if fp.baseSeq != last.baseSeq+int32(len(last.values)) {
		return false, kafka.OutOfOrderSequenceNumber
	}
	return false, nil
}

func (f *fakeProduceBroker) RoundTrip(ctx context.Context, _ net.Addr, req protocol.Message) (protocol.Message, error) {
	switch r := req.(type) {
	case *meta.Request:
		res := &meta.Response{Brokers: []meta.ResponseBroker{{NodeID: 1, Host: "127.0.0.1", Port: 1}}}
		for _, name := range r.TopicNames {
			t := meta.ResponseTopic{Name: name}
			for p := range f.partitions {
				t.Partitions = append(t.Partitions, meta.ResponsePartition{PartitionIndex: int32(p), LeaderID: 1})
			}
			res.Topics = append(res.Topics, t)
		}
		return res, nil
	case *initproducerid.Request:
		f.mu.Lock()
		f.pids++
		pid := 1000 + f.pids
		f.mu.Unlock()
		if f.initErr != 0 {
			return &initproducerid.Response{ErrorCode: int16(f.initErr), ProducerID: -1, ProducerEpoch: -1}, nil
		}
		return &initproducerid.Response{ProducerID: pid}, nil
	case *rawproduce.Request:
		rp := &r.Topics[0].Partitions[0]
		raw, err := io.ReadAll(rp.RecordSet.Reader)
		if err != nil {
			return nil, err
		}
		fp := fakeProduce{
			partition:  int(rp.Partition),
			producerID: int64(binary.BigEndian.Uint64(raw[wire.OffProducerID:])),
			epoch:      int16(binary.BigEndian.Uint16(raw[wire.OffProducerEpoch:])),
			baseSeq:    int32(binary.BigEndian.Uint32(raw[wire.OffBaseSequence:])),
		}
		if err := eachRecord(raw[recordsStart:], func(m *runtime.Message, _ int64) {
			fp.values = append(fp.values, string(m.Value))
		}); err != nil {
			return nil, err
		}
		f.mu.Lock()
		i := len(f.produces)
		f.produces = append(f.produces, fp)
		f.mu.Unlock()
		var perr error
		if f.answer != nil {
			perr = f.answer(i, fp)
		}
		if perr == nil {
			f.mu.Lock()
			dup, err := f.check(fp)
			if err == nil && !dup {
				f.written = append(f.written, fp)
				k := [2]int64{fp.producerID, int64(fp.partition)}
				if fp.producerID >= 0 {
					f.seqs[k] = append(f.seqs[k], fp.baseSeq)
				}
			}
			f.mu.Unlock()
			perr = err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var code int16
		var ke kafka.Error
		switch {
		case perr == nil:
		case errors.As(perr, &ke):
			code = int16(ke)
		default:
			return nil, perr // a transport error
		}
		return &produce.Response{Topics: []produce.ResponseTopic{{Topic: r.Topics[0].Topic,
			Partitions: []produce.ResponsePartition{{Partition: rp.Partition, ErrorCode: code}}}}}, nil
	}
	return nil, errors.New("fake broker: unexpected request")
}

func (f *fakeProduceBroker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.produces)
}

func (f *fakeProduceBroker) sent() []fakeProduce {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeProduce(nil), f.produces...)
}

// log is what was written, in order.
func (f *fakeProduceBroker) log() []fakeProduce {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeProduce(nil), f.written...)
}

func newFakeSink(t *testing.T, cfg Config, f *fakeProduceBroker) *Sink {
	t.Helper()
	cfg.Brokers = []string{"127.0.0.1:1"}
	if cfg.Topic == "" {
		cfg.Topic = "t"
	}
	s, err := newSink(cfg, sinkTestLogger(), func(kafka.RoundTripper) kafka.RoundTripper { return f })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func valueMessages(acks *ackLog, first, n int) []runtime.Message {
	msgs := make([]runtime.Message, n)
	for i := range msgs {
		msgs[i] = runtime.Message{Value: []byte(strconv.Itoa(first + i)), Ack: acks.Ack(first + i)}
	}
	return msgs
}

// TestProducerDeliveryDeadlineIsTheOnlyClock: a batch the broker keeps
// refusing with a retryable error is retried until its records' delivery
// deadline (AckTimeout after Write), then fails once with ErrAckTimeout,
// retryable; no request for it is sent after its records were told. Before
// the fix an ack timer failed the records while the producer went on
// retrying them (the engine then queued copies beside the old ones).
func TestProducerDeliveryDeadlineIsTheOnlyClock(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := &fakeProduceBroker{partitions: 1, answer: func(int, fakeProduce) error { return kafka.NotLeaderForPartition }}
	// The deadline leaves room for several retries (backoff from 100 ms)
	// even on a loaded machine; at 150 ms one retry was once all it got.
	s := newFakeSink(t, Config{Acks: 1, AckTimeout: time.Second, RequestTimeout: 10 * time.Second}, f)
	acks := newAckLog(t, 1)
	var atAck int
	acks.OnDone = func(int, error) { atAck = f.count() }
	if err := s.Write(context.Background(), valueMessages(acks, 0, 1)); err != nil {
		t.Fatal(err)
	}
	acks.Wait(10 * time.Second)
	err, _ := acks.Err(0)
	if !errors.Is(err, ErrAckTimeout) || runtime.IsPermanent(err) || !errors.Is(err, kafka.NotLeaderForPartition) {
		t.Errorf("err = %v, want a retryable ErrAckTimeout naming the last error", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if atAck < 2 {
		t.Errorf("%d requests before the deadline, want retries", atAck)
	}
	if n := f.count(); n != atAck {
		t.Errorf("%d requests sent after the record failed (%d before)", n-atAck, atAck)
	}
}

// TestProducerFailsEveryBatchBehindAFailedOne: when a partition's batch
// fails for good, every batch queued behind it fails too and is never
// sent, so nothing later lands before the failed records are sent again;
// records written afterwards are sent as usual.
func TestProducerFailsEveryBatchBehindAFailedOne(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		err  error
	}{
		{"permanent", Config{}, kafka.PolicyViolation},
		{"attempts spent", Config{MaxAttempts: 1}, kafka.NotEnoughReplicas},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			release := make(chan struct{})
			f := &fakeProduceBroker{partitions: 1, answer: func(i int, _ fakeProduce) error {
				if i == 0 {
					<-release
					return tt.err
				}
				return nil
			}}
			cfg := tt.cfg
			cfg.Acks, cfg.BatchBytes, cfg.Linger = 1, 200, time.Millisecond
			s := newFakeSink(t, cfg, f)
			const n = 60 // several batches of about ten records
			acks := newAckLog(t, n+1)
			if err := s.Write(context.Background(), valueMessages(acks, 0, n)); err != nil {
				t.Fatal(err)
			}
			close(release)
			for deadline := time.Now().Add(10 * time.Second); acks.Count() < n; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d records told", acks.Count(), n)
				}
			}
			for i := range n {
				if err, _ := acks.Err(i); err == nil {
					t.Fatalf("record %d acknowledged after an earlier batch of its partition failed", i)
				}
			}
			first := f.sent()[0]
			if len(first.values) >= n {
				t.Fatalf("first batch holds all %d records; want several batches", n)
			}
			if err, _ := acks.Err(0); !errors.Is(err, tt.err) {
				t.Errorf("record 0: err = %v, want %v", err, tt.err)
			}
			// Those behind were only not sent: a transient error, never a
			// permanent one that would dead-letter them.
			if err, _ := acks.Err(n - 1); runtime.IsPermanent(err) || errors.Is(err, runtime.ErrPermanent) {
				t.Errorf("record %d behind the failed batch: err = %v, want a transient error", n-1, err)
			}
			if got := f.count(); got != 1 {
				t.Errorf("%d requests, want only the failed one", got)
			}
			// The partition goes on with what comes next.
			if err := s.Write(context.Background(), valueMessages(acks, n, 1)); err != nil {
				t.Fatal(err)
			}
			acks.Wait(10 * time.Second)
			if err, _ := acks.Err(n); err != nil {
				t.Errorf("record written after the failure: %v", err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestEachRecordReadsWhatAddWrites: the record reader used to split
// batches gives back every record add encoded.
func TestEachRecordReadsWhatAddWrites(t *testing.T) {
	b := newRecordBatch()
	defer b.free()
	msgs := []runtime.Message{
		{Key: []byte("k"), Value: []byte("v")},
		{Value: nil},
		{Key: []byte{}, Value: bytes.Repeat([]byte("x"), 300), Headers: []runtime.Header{{Key: "h", Value: []byte("1")}, {Key: "n"}}},
	}
	for i := range msgs {
		b.add(&msgs[i], 1_700_000_000_000+int64(i), &ackToken{})
	}
	var got []runtime.Message
	var deltas []int64
	if err := eachRecord(b.Buf[recordsStart:], func(m *runtime.Message, ts int64) {
		c := *m
		c.Headers = append([]runtime.Header(nil), m.Headers...)
		got = append(got, c)
		deltas = append(deltas, ts)
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d records, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if !sameBytes(got[i].Key, msgs[i].Key) || !sameBytes(got[i].Value, msgs[i].Value) ||
			len(got[i].Headers) != len(msgs[i].Headers) || deltas[i] != int64(i) {
			t.Errorf("record %d = %+v (ts delta %d), want %+v", i, got[i], deltas[i], msgs[i])
		}
	}
	if err := eachRecord([]byte{0x10, 0}, func(*runtime.Message, int64) {}); err == nil {
		t.Error("truncated record read without error")
	}
}

// TestProducerIdempotentSequences: with acks all the producer is
// idempotent by default: every batch carries the producer id and epoch,
// and each partition's base sequences start at 0 and grow by the records
// of the batches before; with acks 1, or disabled, batches carry none.
func TestProducerIdempotentSequences(t *testing.T) {
	for _, tt := range []struct {
		name       string
		cfg        Config
		idempotent bool
	}{
		{"acks all", Config{Acks: -1}, true},
		{"acks all, disabled", Config{Acks: -1, DisableIdempotence: true}, false},
		{"acks 1", Config{Acks: 1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			f := &fakeProduceBroker{partitions: 3}
			cfg := tt.cfg
			cfg.BatchBytes, cfg.Linger, cfg.Partitioner = 300, time.Millisecond, "round_robin"
			s := newFakeSink(t, cfg, f)
			const n = 600
			acks := newAckLog(t, n)
			for i := 0; i < n; i += 50 {
				if err := s.Write(context.Background(), valueMessages(acks, i, 50)); err != nil {
					t.Fatal(err)
				}
			}
			acks.Wait(10 * time.Second)
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			next := map[int]int32{}
			for _, r := range f.log() {
				if !tt.idempotent {
					if r.producerID != -1 || r.epoch != -1 || r.baseSeq != -1 {
						t.Fatalf("batch with producer id %d, epoch %d, sequence %d; want -1 each", r.producerID, r.epoch, r.baseSeq)
					}
					continue
				}
				if r.producerID != 1001 || r.epoch != 0 {
					t.Fatalf("batch with producer id %d, epoch %d; want 1001, 0", r.producerID, r.epoch)
				}
				if r.baseSeq != next[r.partition] {
					t.Fatalf("partition %d: base sequence %d, want %d", r.partition, r.baseSeq, next[r.partition])
				}
				next[r.partition] += int32(len(r.values))
			}
		})
	}
}

// TestProducerIdempotenceRefused: a cluster that refuses InitProducerId
// (no IdempotentWrite permission) gets a warning, not a failure: the
// records are written without producer id, one request at a time.
func TestProducerIdempotenceRefused(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := &fakeProduceBroker{partitions: 1, initErr: kafka.ClusterAuthorizationFailed}
	s := newFakeSink(t, Config{Acks: -1, BatchBytes: 300}, f)
	acks := newAckLog(t, 100)
	if err := s.Write(context.Background(), valueMessages(acks, 0, 100)); err != nil {
		t.Fatal(err)
	}
	acks.Wait(10 * time.Second)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err, _ := acks.Err(i); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	for _, r := range f.sent() {
		if r.producerID != -1 {
			t.Fatalf("batch with producer id %d after the cluster refused idempotence", r.producerID)
		}
	}
	if s.prod.idempotent.Load() {
		t.Error("producer still idempotent")
	}
}

// TestProducerRestartsSequences: UNKNOWN_PRODUCER_ID (the broker forgot
// the producer) and a gap refused at the head make the partition take a
// new producer id and send what is unacknowledged again from sequence 0,
// in order; every record is acknowledged once.
func TestProducerRestartsSequences(t *testing.T) {
	for _, code := range []kafka.Error{kafka.UnknownProducerId, kafka.OutOfOrderSequenceNumber, kafka.InvalidProducerEpoch} {
		t.Run(code.Title(), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			f := &fakeProduceBroker{partitions: 1, answer: func(i int, _ fakeProduce) error {
				if i == 3 {
					return code
				}
				return nil
			}}
			// MaxRequestSize as small as BatchBytes: a batch never grows
			// while its partition waits, so the 200 records take a dozen
			// requests whatever the timing, and the fourth one exists (on a
			// loaded machine they once fitted in three: no error, one id).
			s := newFakeSink(t, Config{Acks: -1, BatchBytes: 300, MaxRequestSize: 300, Linger: time.Millisecond}, f)
			const n = 200
			acks := newAckLog(t, n)
			if err := s.Write(context.Background(), valueMessages(acks, 0, n)); err != nil {
				t.Fatal(err)
			}
			acks.Wait(10 * time.Second)
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if err, _ := acks.Err(i); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			// What the broker wrote, by producer id: each id's sequences
			// contiguous from 0, the records in order.
			var written []string
			next := map[int64]int32{}
			for i, r := range f.log() {
				if r.baseSeq != next[r.producerID] {
					t.Fatalf("batch %d: producer %d base sequence %d, want %d", i, r.producerID, r.baseSeq, next[r.producerID])
				}
				next[r.producerID] += int32(len(r.values))
				written = append(written, r.values...)
			}
			if wantIDs := 2; code != kafka.OutOfOrderSequenceNumber && len(next) != wantIDs {
				t.Errorf("%d producer ids used, want %d", len(next), wantIDs)
			}
			if len(written) != n {
				t.Errorf("%d records written, want %d", len(written), n)
			}
			for i, v := range written {
				if v != strconv.Itoa(i) {
					t.Fatalf("written[%d] = %s: not once, in order", i, v)
				}
			}
		})
	}
}

// TestPartWriterBatchGrowsInOneCopy: a batch opened in the small size
// class while its partition could send, then growing while it cannot
// (towards MaxRequestSize), moves to a large buffer once instead of being
// doubled by appends again and again, its token slice too; its records and
// tokens stay whole and in order.
func TestPartWriterBatchGrowsInOneCopy(t *testing.T) {
	p := &producer{cfg: Config{BatchBytes: 16 << 10, MaxRequestSize: 1 << 20}}
	w := &partWriter{p: p, wake: make(chan struct{}, 1)}
	const n = 3000 // about 350 KB: past the small class, within the request
	toks := make([]ackToken, n)
	msgs := make([]runtime.Message, n)
	var bufMoves, tokMoves int
	var lastBuf *byte
	var lastToks **ackToken
	for i := range msgs {
		msgs[i] = runtime.Message{Key: []byte("key"), Value: []byte(fmt.Sprintf("%0100d", i))}
		if !w.add(&msgs[i], 1_700_000_000_000, time.Time{}, &toks[i]) {
			t.Fatal("add refused")
		}
		// The partition sent its batch: blocked until the request returns.
		w.blocked.Store(true)
		if len(w.full) > 0 {
			t.Fatalf("a batch closed at record %d (%d bytes), under MaxRequestSize", i, w.full[0].size())
		}
		if d := unsafe.SliceData(w.cur.Buf); d != lastBuf {
			if i > 0 {
				bufMoves++
			}
			lastBuf = d
		}
		if d := unsafe.SliceData(w.cur.toks); d != lastToks && cap(w.cur.Buf) > smallBatchCap {
			tokMoves++
			lastToks = d
		}
	}
	if bufMoves != 1 {
		t.Errorf("the batch's buffer moved %d times, want once", bufMoves)
	}
	if tokMoves != 1 {
		t.Errorf("the token slice moved %d times past the small class, want once", tokMoves)
	}
	b := w.cur
	defer b.free()
	if int(b.N) != n {
		t.Fatalf("batch has %d records, want %d", b.N, n)
	}
	for i := range b.toks {
		if b.toks[i] != &toks[i] {
			t.Fatalf("token %d out of place", i)
		}
	}
	i := 0
	if err := eachRecord(b.Buf[recordsStart:], func(m *runtime.Message, _ int64) {
		if string(m.Value) != string(msgs[i].Value) {
			t.Fatalf("record %d: value %q, want %q", i, m.Value, msgs[i].Value)
		}
		i++
	}); err != nil || i != n {
		t.Fatalf("decoded %d records, err %v", i, err)
	}
}
