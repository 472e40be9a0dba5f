package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func keyed(topic string, partition int32, n, keys int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Topic: topic, Partition: partition, Offset: int64(i),
			Key: []byte(fmt.Sprintf("k%d", i%keys)), Value: []byte(fmt.Sprintf("v%d", i))}
	}
	return recs
}

func passthrough(_ context.Context, r *Record) ([]Output, error) {
	return []Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}, nil
}

func TestRunInMemoryOrderPerKey(t *testing.T) {
	recs := append(keyed("a", 0, 2000, 37), keyed("a", 1, 2000, 11)...)
	cfg := Config{Workers: 16, Logger: quietLogger()}
	res, err := RunInMemory(context.Background(), cfg, func(ctx context.Context, r *Record) ([]Output, error) {
		if r.Offset%7 == 0 {
			time.Sleep(50 * time.Microsecond) // shuffle completion order
		}
		return passthrough(ctx, r)
	}, recs)
	if err != nil {
		t.Fatal(err)
	}
	out := res.Outputs["out"]
	if len(out) != len(recs) {
		t.Fatalf("got %d outputs, want %d", len(out), len(recs))
	}
	// Per key (keys are distinct per partition since both use k%d but the
	// value encodes the offset), values must come in offset order.
	last := map[string]int{}
	seen := map[string]bool{}
	for _, m := range out {
		var off int
		fmt.Sscanf(string(m.Value), "v%d", &off)
		id := string(m.Key)
		if prev, ok := last[id]; ok && off < prev && !seen[id+string(m.Value)] {
			// keys repeat across partitions; only check strict order when
			// the key only lives in one partition (k11.. exist only in p0).
			var k int
			fmt.Sscanf(id, "k%d", &k)
			if k >= 11 {
				t.Fatalf("key %s: offset %d after %d", id, off, prev)
			}
		}
		last[id] = off
		seen[id+string(m.Value)] = true
	}
	if res.Committed["a/0"] != 2000 || res.Committed["a/1"] != 2000 {
		t.Fatalf("committed %v, want 2000 for both", res.Committed)
	}
}

func TestParallelismBeyondPartitions(t *testing.T) {
	var running, peak atomic.Int32
	h := func(ctx context.Context, r *Record) ([]Output, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		return nil, nil
	}
	_, err := RunInMemory(context.Background(), Config{Workers: 8, Logger: quietLogger()}, h, keyed("a", 0, 200, 100))
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() < 6 {
		t.Fatalf("peak concurrency %d on one partition with 8 workers, want about 8", peak.Load())
	}
}

func TestFailurePolicies(t *testing.T) {
	poison := func(ctx context.Context, r *Record) ([]Output, error) {
		if r.Offset == 3 {
			return nil, errors.New("bad record")
		}
		return passthrough(ctx, r)
	}
	tests := []struct {
		name       string
		policy     OnFailure
		wantOut    int
		wantDead   int
		wantSkip   int
		wantCommit int64
		wantErr    bool
	}{
		{"dead_letter", DeadLetter, 9, 1, 0, 10, false},
		{"skip", Skip, 9, 0, 1, 10, false},
		{"stop", Stop, 9, 0, 0, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Workers: 4, Logger: quietLogger(),
				Inbound: []InboundConfig{{ID: "in", MaxRetries: 2}},
				Failure: FailurePolicy{OnFailure: tt.policy, Backoff: time.Millisecond}}
			res, err := RunInMemory(context.Background(), cfg, poison, keyed("t", 0, 10, 10))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := len(res.Outputs["out"]); got != tt.wantOut {
				t.Errorf("outputs %d, want %d", got, tt.wantOut)
			}
			if len(res.DeadLetters) != tt.wantDead || len(res.Skipped) != tt.wantSkip {
				t.Errorf("dead %d skipped %d, want %d %d", len(res.DeadLetters), len(res.Skipped), tt.wantDead, tt.wantSkip)
			}
			if res.Committed["t/0"] != tt.wantCommit {
				t.Errorf("committed %d, want %d", res.Committed["t/0"], tt.wantCommit)
			}
			if tt.wantDead == 1 {
				h := map[string]string{}
				for _, x := range res.DeadLetters[0].Headers {
					h[x.Key] = string(x.Value)
				}
				if h[HeaderOffset] != "3" || h[HeaderAttempts] != "3" || h[HeaderError] != "bad record" || h[HeaderTopic] != "t" {
					t.Errorf("dead-letter headers %v", h)
				}
			}
		})
	}
}

func TestRetryThenSuccessKeepsKeyOrder(t *testing.T) {
	var mu sync.Mutex
	tries := map[int64]int{}
	h := func(ctx context.Context, r *Record) ([]Output, error) {
		mu.Lock()
		tries[r.Offset]++
		n := tries[r.Offset]
		mu.Unlock()
		if r.Offset == 0 && n < 3 {
			return nil, errors.New("flaky")
		}
		return passthrough(ctx, r)
	}
	recs := keyed("t", 0, 20, 2) // k0: offsets 0,2,4...; k1: 1,3,5...
	cfg := Config{Workers: 4, Logger: quietLogger(), Inbound: []InboundConfig{{ID: "in", MaxRetries: 5}},
		Failure: FailurePolicy{Backoff: 5 * time.Millisecond}}
	res, err := RunInMemory(context.Background(), cfg, h, recs)
	if err != nil {
		t.Fatal(err)
	}
	var k0 []string
	for _, m := range res.Outputs["out"] {
		if string(m.Key) == "k0" {
			k0 = append(k0, string(m.Value))
		}
	}
	if len(k0) != 10 || k0[0] != "v0" || k0[1] != "v2" {
		t.Fatalf("k0 outputs %v: the retried record must come first", k0)
	}
	// k1 must not have waited for k0's retries: its first output precedes v0.
	first := -1
	for i, m := range res.Outputs["out"] {
		if string(m.Value) == "v0" {
			first = i
			break
		}
	}
	if first < 5 {
		t.Fatalf("v0 written at position %d: other keys were blocked by its retries", first)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	h := func(ctx context.Context, r *Record) ([]Output, error) {
		if r.Offset == 1 && r.Attempt == 1 {
			panic("boom")
		}
		return passthrough(ctx, r)
	}
	cfg := Config{Workers: 2, Logger: quietLogger(), Inbound: []InboundConfig{{ID: "in", MaxRetries: 1}},
		Failure: FailurePolicy{Backoff: time.Millisecond}}
	res, err := RunInMemory(context.Background(), cfg, h, keyed("t", 0, 5, 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs["out"]) != 5 || res.Committed["t/0"] != 5 {
		t.Fatalf("outputs %d committed %v", len(res.Outputs["out"]), res.Committed)
	}
}

// slowSink acknowledges in reverse order of arrival when released.
type holdSink struct {
	mu   sync.Mutex
	held []Acker
}

func (s *holdSink) Write(_ context.Context, msgs []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.held = append(s.held, m.Ack)
	}
	return nil
}
func (s *holdSink) Close(context.Context) error { return nil }
func (s *holdSink) release(i int) {
	s.mu.Lock()
	a := s.held[i]
	s.mu.Unlock()
	a.Done(nil)
}
func (s *holdSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

func TestWatermarkWaitsForAcks(t *testing.T) {
	sink := &holdSink{}
	e := NewEngine(Config{Workers: 1, Logger: quietLogger(), Inbound: []InboundConfig{{ID: "in"}}}, passthrough,
		map[string]Sink{"out": sink}, []string{"out"}, nil)
	e.Start()
	defer e.Stop(context.Background())
	l := e.Open("in", "t", 0)
	recs := keyed("t", 0, 3, 3)
	recs[1].Offset, recs[2].Offset = 5, 9 // gaps, as after compaction
	if err := l.Submit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sink.count() == 3 })
	if _, ok := l.Committable(); ok {
		t.Fatal("committable before any ack")
	}
	sink.release(2)
	sink.release(1)
	time.Sleep(10 * time.Millisecond)
	if _, ok := l.Committable(); ok {
		t.Fatal("watermark passed an unacknowledged record")
	}
	sink.release(0)
	if next, ok := l.Committable(); !ok || next != 10 {
		t.Fatalf("committable %d %v, want 10 true", next, ok)
	}
	l.Drain(context.Background())
}

func TestBudgetPausesSubmit(t *testing.T) {
	sink := &holdSink{}
	e := NewEngine(Config{Workers: 2, Logger: quietLogger(), Flow: FlowConfig{MaxInFlightRecords: 10}}, passthrough,
		map[string]Sink{"out": sink}, []string{"out"}, nil)
	e.Start()
	defer e.Stop(context.Background())
	l := e.Open("in", "t", 0)
	if err := l.Submit(context.Background(), keyed("t", 0, 10, 10)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	more := keyed("t", 0, 11, 11)[10:]
	if err := l.Submit(ctx, more); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("submit past the budget: err %v, want deadline exceeded", err)
	}
	if r, _ := e.budget.inFlight(); r != 10 {
		t.Fatalf("in flight %d, want 10", r)
	}
	waitFor(t, func() bool { return sink.count() == 10 })
	for i := 0; i < 10; i++ {
		sink.release(i)
	}
	if err := l.Submit(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sink.count() == 11 })
	sink.release(10)
	if next, _ := l.Drain(context.Background()); next != 11 {
		t.Fatalf("drained at %d, want 11", next)
	}
}

func TestDrainAbandonsAfterBudget(t *testing.T) {
	sink := &holdSink{}
	e := NewEngine(Config{Workers: 1, Logger: quietLogger()}, passthrough,
		map[string]Sink{"out": sink}, []string{"out"}, nil)
	e.Start()
	l := e.Open("in", "t", 0)
	if err := l.Submit(context.Background(), keyed("t", 0, 3, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sink.count() == 3 })
	sink.release(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if next, ok := l.Drain(ctx); !ok || next != 1 {
		t.Fatalf("drain %d %v, want 1 true", next, ok)
	}
	if err := l.Submit(context.Background(), keyed("t", 0, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after drain: %v", err)
	}
	sink.release(1) // late completion: must not panic or move anything
	sink.release(2)
	e.Stop(context.Background())
	// Two records were unfinished when the drain ran out: abandoned, and
	// not processed even though their outputs were acknowledged late.
	if st := e.Stats(); st.Processed != 1 || st.Abandoned != 2 || st.Uncommitted != 0 || st.Acked != 3 || st.Sent != 3 {
		t.Errorf("stats %+v, want 1 processed, 2 abandoned, none uncommitted, 3 sent and acknowledged", st)
	}
}

// TestDrainCountsFinishedBehindAbandoned: a record finished after one the
// drain abandons in the same partition is not committed either (the
// watermark stops at the abandoned one), so the next run repeats it; the
// stats count it as Uncommitted, beside the abandoned ones.
func TestDrainCountsFinishedBehindAbandoned(t *testing.T) {
	sink := &holdSink{}
	e := NewEngine(Config{Workers: 1, Logger: quietLogger()}, passthrough,
		map[string]Sink{"out": sink}, []string{"out"}, nil)
	e.Start()
	l := e.Open("in", "t", 0)
	if err := l.Submit(context.Background(), keyed("t", 0, 4, 4)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return sink.count() == 4 })
	sink.release(0)
	sink.release(2) // offsets 2 and 3 finish behind the unfinished 1
	sink.release(3)
	waitFor(t, func() bool { return e.Stats().Processed == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if next, ok := l.Drain(ctx); !ok || next != 1 {
		t.Fatalf("drain %d %v, want 1 true", next, ok)
	}
	sink.release(1)
	e.Stop(context.Background())
	if st := e.Stats(); st.Processed != 3 || st.Abandoned != 1 || st.Uncommitted != 2 {
		t.Errorf("stats %+v, want 3 processed, 1 abandoned, 2 finished but uncommitted", st)
	}
}

// TestStatsCountRecordsNotTries: a record retried twice is processed
// once and runs the handler three times; outputs count as acknowledged
// only once the sink acknowledged them.
func TestStatsCountRecordsNotTries(t *testing.T) {
	var runs atomic.Int64
	h := func(ctx context.Context, r *Record) ([]Output, error) {
		if r.Offset == 2 && r.Attempt < 3 {
			runs.Add(1)
			return nil, errors.New("not yet")
		}
		return passthrough(ctx, r)
	}
	failSink := &MemorySink{Fail: func(m Message) error {
		if string(m.Key) == "k4" {
			return Permanent(errors.New("refused"))
		}
		return nil
	}}
	e := NewEngine(Config{Workers: 2, Logger: quietLogger(), Inbound: []InboundConfig{{ID: "in", MaxRetries: 5}},
		Failure: FailurePolicy{OnFailure: Skip, Backoff: time.Millisecond}},
		h, map[string]Sink{"out": failSink}, []string{"out"}, nil)
	e.Start()
	l := e.Open("in", "t", 0)
	if err := l.Submit(context.Background(), keyed("t", 0, 6, 6)); err != nil {
		t.Fatal(err)
	}
	if next, ok := l.Drain(context.Background()); !ok || next != 6 {
		t.Fatalf("drain %d %v, want 6 true", next, ok)
	}
	e.Stop(context.Background())
	st := e.Stats()
	want := Stats{Consumed: 6, Processed: 5, Skipped: 1, Runs: 8, Failed: 3, Retried: 2, Sent: 6, Acked: 5}
	st.InFlightRecords, st.InFlightBytes = 0, 0
	if st != want {
		t.Errorf("stats\n%+v, want\n%+v", st, want)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOutboundFailures(t *testing.T) {
	tests := []struct {
		name      string
		permanent bool
		wantOut   int
		wantDead  int
	}{
		// A transient outbound error never spends the record's tries: it
		// waits for the client to recover (here after 5 failures, with
		// max_retries 1).
		{"transient waits for recovery", false, 3, 0},
		// A permanent one goes to the failure policy at once.
		{"permanent dead-letters", true, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fails atomic.Int32
			cfg := Config{Workers: 2, Logger: quietLogger(),
				Inbound: []InboundConfig{{ID: "in", MaxRetries: 1}},
				Failure: FailurePolicy{OnFailure: DeadLetter, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}}
			sink := &MemorySink{Fail: func(m Message) error {
				if string(m.Value) == "v1" && fails.Add(1) <= 5 {
					return &OutboundError{Client: KafkaProducer, Err: errors.New("broker away"), Permanent: tt.permanent}
				}
				return nil
			}}
			dead := &MemorySink{}
			e := NewEngine(cfg, passthrough, map[string]Sink{"out": sink}, []string{"out"}, map[string]Sink{"in": dead})
			e.Start()
			l := e.Open("in", "t", 0)
			if err := l.Submit(context.Background(), keyed("t", 0, 3, 3)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			next, _ := l.Drain(ctx)
			e.Stop(context.Background())
			if next != 3 {
				t.Fatalf("watermark %d, want 3", next)
			}
			if got := len(sink.Messages()); got != tt.wantOut {
				t.Errorf("outputs %d, want %d", got, tt.wantOut)
			}
			if got := len(dead.Messages()); got != tt.wantDead {
				t.Errorf("dead letters %d, want %d", got, tt.wantDead)
			}
		})
	}
}

// TestRecordOut: outputs returned through Record.Out (a buffer each worker
// reuses) reach the sink intact, record after record, with several outputs
// per record on several workers; outside the engine Out copies.
func TestRecordOut(t *testing.T) {
	const n = 2000
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Partition: int32(i % 3), Offset: int64(i / 3), Key: fmt.Appendf(nil, "k%d", i%50), Value: fmt.Appendf(nil, "v%d", i)}
	}
	h := func(_ context.Context, r *Record) ([]Output, error) {
		slot := r.WorkerLocal()
		if *slot == nil {
			*slot = r.Worker
		} else if *slot != r.Worker {
			return nil, fmt.Errorf("worker %d sees worker %v's slot", r.Worker, *slot)
		}
		a := Output{Key: r.Key, Value: append([]byte("a:"), r.Value...)}
		b := Output{Key: r.Key, Value: append([]byte("b:"), r.Value...)}
		return r.Out(a, b), nil
	}
	res, err := RunInMemory(context.Background(), Config{Workers: 4, Logger: quietLogger()}, h, recs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range res.Outputs["out"] {
		got[string(m.Value)]++
	}
	for i := range n {
		for _, p := range []string{"a:", "b:"} {
			if v := fmt.Sprintf("%sv%d", p, i); got[v] != 1 {
				t.Fatalf("%s written %d times", v, got[v])
			}
		}
	}
	var r Record
	one := []Output{{Value: []byte("x")}}
	out := r.Out(one...)
	out[0].Value = nil
	if one[0].Value == nil {
		t.Error("Out outside the engine returned its argument, not a copy")
	}
}

// TestPermanentHandlerErrorSkipsRetries: a handler error wrapped with
// Permanent runs Process once and goes to the failure policy; a plain one
// is retried MaxRetries times first.
func TestPermanentHandlerErrorSkipsRetries(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantRuns int64
		wantTry  string
	}{
		{"plain", errors.New("bad record"), 4, "4"},
		{"permanent", Permanent(errors.New("bad record")), 1, "1"},
		{"wrapped permanent", fmt.Errorf("parse: %w", Permanent(errors.New("bad record"))), 1, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int64
			h := func(ctx context.Context, r *Record) ([]Output, error) {
				if r.Offset == 3 {
					runs.Add(1)
					return nil, tt.err
				}
				return passthrough(ctx, r)
			}
			cfg := Config{Workers: 2, Logger: quietLogger(),
				Inbound: []InboundConfig{{ID: "in", MaxRetries: 3}},
				Failure: FailurePolicy{OnFailure: DeadLetter, Backoff: time.Millisecond}}
			res, err := RunInMemory(context.Background(), cfg, h, keyed("t", 0, 5, 5))
			if err != nil {
				t.Fatal(err)
			}
			if got := runs.Load(); got != tt.wantRuns {
				t.Errorf("Process ran %d times on the failing record, want %d", got, tt.wantRuns)
			}
			if len(res.DeadLetters) != 1 {
				t.Fatalf("dead letters %d, want 1", len(res.DeadLetters))
			}
			for _, x := range res.DeadLetters[0].Headers {
				if x.Key == HeaderAttempts && string(x.Value) != tt.wantTry {
					t.Errorf("%s = %s, want %s", HeaderAttempts, x.Value, tt.wantTry)
				}
			}
		})
	}
}
