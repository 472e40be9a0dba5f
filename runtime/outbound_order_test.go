package runtime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// flakySink acknowledges at once, failing the writes fail picks. Like the
// producer, which fails every batch of a partition behind a failed one
// (with a transient error: they did nothing wrong), it also fails the
// later messages of that Write call with the same key. It logs every
// attempt and every message written.
type flakySink struct {
	fail func(value string, try int) error

	mu       sync.Mutex
	tries    map[string]int
	attempts []string // every message offered, in order
	written  []string // every message acknowledged without error, in order
}

// errBehind is what flakySink fails the messages behind a failed one with.
var errBehind = &OutboundError{Client: "kafka_producer", Err: errors.New("an earlier batch of the partition failed")}

func (s *flakySink) Write(_ context.Context, msgs []Message) error {
	failed := map[string]bool{}
	for _, m := range msgs {
		v, k := string(m.Value), string(m.Key)
		s.mu.Lock()
		if s.tries == nil {
			s.tries = map[string]int{}
		}
		s.tries[v]++
		try := s.tries[v]
		s.attempts = append(s.attempts, v)
		var err error
		if failed[k] {
			err = errBehind
		} else if s.fail != nil {
			err = s.fail(v, try)
		}
		if err != nil {
			failed[k] = true
		} else {
			s.written = append(s.written, v)
		}
		s.mu.Unlock()
		m.Ack.Done(err)
	}
	return nil
}

func (s *flakySink) Close(context.Context) error { return nil }

func (s *flakySink) log() (attempts, written []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.attempts...), append([]string(nil), s.written...)
}

// countingHandler is passthrough, counting the calls per offset.
type countingHandler struct {
	mu    sync.Mutex
	calls map[int64]int
}

func (c *countingHandler) handle(ctx context.Context, r *Record) ([]Output, error) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[int64]int{}
	}
	c.calls[r.Offset]++
	c.mu.Unlock()
	return passthrough(ctx, r)
}

func (c *countingHandler) check(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for off := range int64(n) {
		if c.calls[off] != 1 {
			t.Errorf("Process ran %d times for offset %d, want 1", c.calls[off], off)
		}
	}
}

// runFlaky runs the engine over recs with the given sinks and returns the
// watermark once every record is finished.
func runFlaky(t *testing.T, cfg Config, h Handler, sinks map[string]Sink, order []string, dead Sink, recs []Record) int64 {
	t.Helper()
	e := NewEngine(cfg, h, sinks, order, map[string]Sink{"in": dead})
	e.Start()
	l := e.Open("in", "t", 0)
	if err := l.Submit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, _ := l.Drain(ctx)
	e.Stop(context.Background())
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	return next
}

// perKey groups values written ("v<offset>") by their record's key.
func perKey(recs []Record, values []string) map[string][]string {
	key := map[string]string{}
	for _, r := range recs {
		key[string(r.Value)] = string(r.Key)
	}
	out := map[string][]string{}
	for _, v := range values {
		out[key[v]] = append(out[key[v]], v)
	}
	return out
}

// TestOutboundFailureKeepsKeyOrder: the first write of one record's output
// fails (transient) while later records of its key are waiting. The output
// of every key must come out in input order, each record once, with
// Process run once per record (the output is resent, not recomputed); the
// watermark ends past every record. The backoff is long next to the
// handler, so a key that moved on while its record's output was unsent
// would show.
func TestOutboundFailureKeepsKeyOrder(t *testing.T) {
	const n = 60
	for _, tc := range []struct {
		name string
		keys int // 0: unkeyed, one ordered queue
	}{
		{"keyed", 3},
		{"one key", 1},
		{"unkeyed", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := keyed("t", 0, n, max(tc.keys, 1))
			if tc.keys == 0 {
				for i := range recs {
					recs[i].Key = nil
				}
			}
			sink := &flakySink{fail: func(v string, try int) error {
				if (v == "v4" || v == "v31") && try == 1 {
					return &OutboundError{Client: "kafka_producer", Err: errors.New("not leader")}
				}
				return nil
			}}
			var h countingHandler
			cfg := Config{Workers: 4, Logger: quietLogger(),
				Inbound: []InboundConfig{{ID: "in", MaxRetries: 3}},
				Failure: FailurePolicy{OnFailure: Stop, Backoff: 20 * time.Millisecond}}
			next := runFlaky(t, cfg, h.handle, map[string]Sink{"out": sink}, []string{"out"}, &MemorySink{}, recs)
			if next != n {
				t.Errorf("watermark %d, want %d", next, n)
			}
			h.check(t, n)
			_, written := sink.log()
			if len(written) != n {
				t.Errorf("%d outputs written, want %d", len(written), n)
			}
			for k, vs := range perKey(recs, written) {
				last := -1
				for _, v := range vs {
					var off int
					fmt.Sscanf(v, "v%d", &off)
					if off <= last {
						t.Fatalf("key %q: outputs %v out of input order", k, vs)
					}
					last = off
				}
			}
		})
	}
}

// TestOutboundResendOnlyToFailedSink: with two outbound clients, the one
// that failed a record's output gets it again; the one that acknowledged
// it does not, and Process is not run again.
func TestOutboundResendOnlyToFailedSink(t *testing.T) {
	const n = 12
	good := &flakySink{}
	bad := &flakySink{fail: func(v string, try int) error {
		if v == "v5" && try <= 2 {
			return &OutboundError{Client: "file_writer", Err: errors.New("disk full")}
		}
		return nil
	}}
	var h countingHandler
	cfg := Config{Workers: 2, Logger: quietLogger(),
		Inbound: []InboundConfig{{ID: "in", MaxRetries: 3}},
		Failure: FailurePolicy{OnFailure: Stop, Backoff: time.Millisecond}}
	recs := keyed("t", 0, n, 2)
	next := runFlaky(t, cfg, h.handle, map[string]Sink{"good": good, "bad": bad}, []string{"good", "bad"}, &MemorySink{}, recs)
	if next != n {
		t.Errorf("watermark %d, want %d", next, n)
	}
	h.check(t, n)
	goodAttempts, goodWritten := good.log()
	if len(goodAttempts) != n || len(goodWritten) != n {
		t.Errorf("the sink that acknowledged got %d writes (%d acknowledged), want %d: %v", len(goodAttempts), len(goodWritten), n, goodAttempts)
	}
	badAttempts, badWritten := bad.log()
	if len(badWritten) != n {
		t.Errorf("the failing sink acknowledged %d writes, want %d: %v", len(badWritten), n, badAttempts)
	}
	if tries := bad.tries["v5"]; tries != 3 {
		t.Errorf("the failing sink got v5 %d times, want 3", tries)
	}
	for name, w := range map[string][]string{"good": goodWritten, "bad": badWritten} {
		for k, vs := range perKey(recs, w) {
			last := -1
			for _, v := range vs {
				var off int
				fmt.Sscanf(v, "v%d", &off)
				if off <= last {
					t.Fatalf("sink %s, key %q: outputs %v out of input order", name, k, vs)
				}
				last = off
			}
		}
	}
}

// TestPermanentOutboundErrorSkipsRetries: an error wrapped with Permanent
// (as the producer reports a record too large for the topic) goes to the
// failure policy at once, without a resend and without running Process
// again; the key's later records follow the dead letter.
func TestPermanentOutboundErrorSkipsRetries(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Permanent", Permanent(errors.New("MESSAGE_TOO_LARGE"))},
		{"wrapped Permanent", fmt.Errorf("produce: %w", Permanent(errors.New("MESSAGE_TOO_LARGE")))},
		{"OutboundError", &OutboundError{Client: "kafka_producer", Err: errors.New("INVALID_TOPIC"), Permanent: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 9
			sink := &flakySink{fail: func(v string, try int) error {
				if v == "v3" {
					return tc.err
				}
				return nil
			}}
			dead := &MemorySink{}
			var h countingHandler
			cfg := Config{Workers: 2, Logger: quietLogger(),
				Inbound: []InboundConfig{{ID: "in", MaxRetries: 5}},
				Failure: FailurePolicy{OnFailure: DeadLetter, DeadLetterTopic: "dlq", Backoff: 20 * time.Millisecond}}
			recs := keyed("t", 0, n, 3) // v3's key: v0 v3 v6
			next := runFlaky(t, cfg, h.handle, map[string]Sink{"out": sink}, []string{"out"}, dead, recs)
			if next != n {
				t.Errorf("watermark %d, want %d", next, n)
			}
			h.check(t, n)
			attempts, _ := sink.log()
			tries := 0
			for _, v := range attempts {
				if v == "v3" {
					tries++
				}
			}
			if tries != 1 {
				t.Errorf("v3 offered %d times, want 1 (no retries after a permanent error)", tries)
			}
			dl := dead.Messages()
			if len(dl) != 1 || string(dl[0].Value) != "v3" {
				t.Fatalf("dead letters %v, want v3", dl)
			}
			if _, written := sink.log(); fmt.Sprint(perKey(recs, written)["k0"]) != "[v0 v6]" {
				t.Errorf("key k0 written %v, want [v0 v6]", perKey(recs, written)["k0"])
			}
		})
	}
}

// TestOutboundFailureHoldsKeyAndWatermark steps through the
// acknowledgements of one key's records A B C: A is written and
// acknowledged, then B; C arrives while B is unacknowledged, and B's
// output fails. The next write is B's output again, not C (C follows B,
// in the same write), and the watermark stays after A until B's resend
// is acknowledged.
func TestOutboundFailureHoldsKeyAndWatermark(t *testing.T) {
	sink := &heldSink{}
	var h countingHandler
	cfg := Config{Workers: 2, Logger: quietLogger(),
		Inbound: []InboundConfig{{ID: "in", MaxRetries: 3}},
		Failure: FailurePolicy{OnFailure: Stop, Backoff: time.Millisecond}}
	e := NewEngine(cfg, h.handle, map[string]Sink{"out": sink}, []string{"out"}, nil)
	e.Start()
	defer e.Stop(context.Background())
	l := e.Open("in", "t", 0)
	recs := keyed("t", 0, 3, 1)
	if err := l.Submit(context.Background(), recs[:2]); err != nil {
		t.Fatal(err)
	}
	written := func(i int, want string) {
		t.Helper()
		waitFor(t, func() bool { return sink.count() > i })
		if got := sink.value(i); got != want {
			t.Fatalf("write %d is %s, want %s", i, got, want)
		}
	}
	committable := func(want int64) {
		t.Helper()
		if want > 0 {
			waitFor(t, func() bool { next, _ := l.Committable(); return next == want })
		}
		if next, _ := l.Committable(); next != want {
			t.Fatalf("committable %d, want %d", next, want)
		}
	}
	written(0, "v0")
	sink.ack(0, nil)
	committable(1)
	written(1, "v1")
	if err := l.Submit(context.Background(), recs[2:]); err != nil {
		t.Fatal(err)
	}
	sink.ack(1, &OutboundError{Client: "kafka_producer", Err: errors.New("request timed out")})
	written(2, "v1")
	committable(1)
	written(3, "v2")
	sink.ack(2, nil)
	committable(2)
	sink.ack(3, nil)
	committable(3)
	if next, _ := l.Drain(context.Background()); next != 3 {
		t.Fatalf("drained at %d, want 3", next)
	}
	h.check(t, 3)
}

// heldSink keeps every message and its acknowledgement until ack.
type heldSink struct {
	mu   sync.Mutex
	msgs []Message
}

func (s *heldSink) Write(_ context.Context, msgs []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msgs...)
	return nil
}
func (s *heldSink) Close(context.Context) error { return nil }
func (s *heldSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}
func (s *heldSink) value(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.msgs[i].Value)
}
func (s *heldSink) ack(i int, err error) {
	s.mu.Lock()
	a := s.msgs[i].Ack
	s.mu.Unlock()
	a.Done(err)
}

// lingerSink acknowledges nothing until told to flush (as a sink waiting
// for its linger with a partial batch): Flush acknowledges, from another
// goroutine, what it holds.
type lingerSink struct {
	mu      sync.Mutex
	held    []Acker
	flushes sync.WaitGroup
}

func (s *lingerSink) Write(_ context.Context, msgs []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.held = append(s.held, m.Ack)
	}
	return nil
}

func (s *lingerSink) Flush() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	s.flushes.Add(1)
	go func() {
		defer s.flushes.Done()
		for _, a := range held {
			a.Done(nil)
		}
	}()
}

func (s *lingerSink) Close(context.Context) error {
	s.flushes.Wait()
	return nil
}

// TestEngineFlushesIdleSinks: a key's next record waits for the previous
// one's acknowledgement, so with a sink that holds its batch until a timer
// (here: forever) the engine must tell it to write out once its workers
// run out of records; else the records of one key would go one per timer
// tick. Both with a fake sink and with the file writer.
func TestEngineFlushesIdleSinks(t *testing.T) {
	file := builtinSink(t, "file_writer", map[string]any{"file": filepath.Join(t.TempDir(), "out{}"), "mode": "w", "flush_interval_ms": time.Hour.Milliseconds()}, 2)
	for _, tc := range []struct {
		name string
		sink Sink
	}{
		{"linger sink", &lingerSink{}},
		{"file writer", file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 50
			cfg := Config{Workers: 2, Logger: quietLogger(), Inbound: []InboundConfig{{ID: "in"}}}
			e := NewEngine(cfg, passthrough, map[string]Sink{"out": tc.sink}, []string{"out"}, nil)
			e.Start()
			l := e.Open("in", "t", 0)
			if err := l.Submit(context.Background(), keyed("t", 0, n, 2)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			next, _ := l.Drain(ctx)
			e.Stop(context.Background())
			if err := tc.sink.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if next != n {
				t.Fatalf("watermark %d, want %d: the sink was not told to write out", next, n)
			}
		})
	}
}

// TestDeadLetterWriteRetried: a dead letter whose first write fails is
// written again, with the record's own error in its headers (not the
// dead-letter client's), and the watermark waits for it.
func TestDeadLetterWriteRetried(t *testing.T) {
	var fails int
	var mu sync.Mutex
	dead := &MemorySink{Fail: func(Message) error {
		mu.Lock()
		defer mu.Unlock()
		if fails++; fails == 1 {
			return &OutboundError{Client: "kafka_producer", Err: errors.New("dead-letter topic away")}
		}
		return nil
	}}
	h := func(ctx context.Context, r *Record) ([]Output, error) {
		if r.Offset == 1 {
			return nil, errors.New("bad record")
		}
		return passthrough(ctx, r)
	}
	cfg := Config{Workers: 2, Logger: quietLogger(),
		Inbound: []InboundConfig{{ID: "in", MaxRetries: 0}},
		Failure: FailurePolicy{OnFailure: DeadLetter, DeadLetterTopic: "dlq", Backoff: time.Millisecond}}
	next := runFlaky(t, cfg, h, map[string]Sink{"out": &MemorySink{}}, []string{"out"}, dead, keyed("t", 0, 3, 1))
	if next != 3 {
		t.Fatalf("watermark %d, want 3", next)
	}
	dl := dead.Messages()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	for _, h := range dl[0].Headers {
		if h.Key == HeaderError && string(h.Value) != "bad record" {
			t.Errorf("%s = %q, want the record's error", HeaderError, h.Value)
		}
	}
}
