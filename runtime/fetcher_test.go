package runtime

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchAPI "github.com/segmentio/kafka-go/protocol/fetch"
)

// Consumer fault tests against the in-process fake broker (fakebroker_test.go):
// fast, broker-free, and able to inject what a real broker rarely does.

// fetchRig is a fake broker with topic "t", an engine whose handler
// records the offsets it sees, and a KafkaSource reading from the broker.
type fetchRig struct {
	b   *fakeBroker
	e   *Engine
	src *KafkaSource

	mu   sync.Mutex
	seen []int64
	// fetchOffsets lists every Fetch's offset; sleeps every wait of the
	// fetch loop (backoff and throttle).
	fetchOffsets []int64
	sleeps       []time.Duration
}

func newFetchRig(t *testing.T, partitions int, cfg KafkaConsumerConfig, failure FailurePolicy, maxRetries int, deadLetters map[string]Sink) *fetchRig {
	t.Helper()
	r := &fetchRig{b: newFakeBroker(t, map[string]int{"t": partitions})}
	failure.Backoff, failure.MaxBackoff = time.Millisecond, time.Millisecond
	r.e = NewEngine(Config{Workers: 1, Logger: quietLogger(), Failure: failure,
		Inbound: []InboundConfig{{ID: "in", Name: KafkaConsumer, MaxRetries: maxRetries}}},
		func(_ context.Context, rec *Record) ([]Output, error) {
			r.mu.Lock()
			r.seen = append(r.seen, rec.Offset)
			r.mu.Unlock()
			return nil, nil
		}, map[string]Sink{}, nil, deadLetters)
	r.e.Start()
	t.Cleanup(func() { r.e.Stop(context.Background()) })
	cfg.Brokers = []string{r.b.addr()}
	if cfg.GroupID == "" {
		cfg.GroupID = "g"
	}
	if len(cfg.Topics) == 0 && len(cfg.Assignments) == 0 {
		cfg.Topics = []string{"t"}
	}
	cfg.MaxWait = 10 * time.Millisecond
	src, err := NewKafkaSource("in", cfg, 5*time.Second, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	src.sleep = func(ctx context.Context, d time.Duration) {
		r.mu.Lock()
		r.sleeps = append(r.sleeps, d)
		r.mu.Unlock()
		sleepCtx(ctx, min(d, time.Millisecond))
	}
	t.Cleanup(src.transport.CloseIdleConnections)
	r.src = src
	return r
}

// serve answers Fetch with answer(i, offset) for the i-th fetch (from 0).
func (r *fetchRig) serve(answer func(i int, offset int64) []byte) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.b.fetch = func(req *fetchAPI.Request) []byte {
		off := req.Topics[0].Partitions[0].FetchOffset
		r.mu.Lock()
		i := len(r.fetchOffsets)
		r.fetchOffsets = append(r.fetchOffsets, off)
		r.mu.Unlock()
		body := answer(i, off)
		if body != nil && len(body) < 100 {
			time.Sleep(5 * time.Millisecond) // an empty answer waits, like MaxWait
		}
		return body
	}
}

func (r *fetchRig) offsets() (seen, fetched []int64, sleeps []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen), slices.Clone(r.fetchOffsets), slices.Clone(r.sleeps)
}

// consume runs the source's fetch loop on t/0 from offset until stop.
func (r *fetchRig) consume(offset int64) (Lane, func()) {
	l := r.e.Open("in", "t", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.src.fetch(ctx, partLane{topic: "t", partition: 0, lane: l}, offset)
	}()
	return l, func() {
		cancel()
		<-done
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		l.Drain(dctx)
	}
}

func empty(hwm int64) []byte {
	return fetchBody{topic: "t", highWater: hwm, stable: hwm}.bytes()
}

// TestFetchCancelAfterErrorDoesNotPanic: the context's AfterFunc callback
// runs in a goroutine of its own and may run after a failed fetch closed
// the connection and cleared f.conn (a cancel racing the error path: a
// SIGTERM or a generation end while a broker restarts). It must not touch
// the cleared field.
func TestFetchCancelAfterErrorDoesNotPanic(t *testing.T) {
	b := newFakeBroker(t, map[string]int{"t": 1})
	b.fetch = func(*fetchAPI.Request) []byte { return nil } // the broker drops the connection
	var late []func()
	afterFunc = func(_ context.Context, f func()) func() bool {
		late = append(late, f)
		return func() bool { return false } // already started: stop cannot prevent it
	}
	defer func() { afterFunc = context.AfterFunc }()
	cfg := withMaxBatch(kafkaConsumerDefaults(KafkaConsumerConfig{Brokers: []string{b.addr()}}), 64<<20)
	f := newPartitionFetcher(&cfg, fetchDialer(&kafka.Dialer{ClientID: "t", Timeout: time.Second}, nil), nil, nil, "t", 0)
	defer f.close()
	if _, _, _, err := f.fetch(context.Background(), 0, nil); err == nil {
		t.Fatal("fetch succeeded on a dropped connection")
	}
	if f.conn != nil || len(late) != 1 {
		t.Fatalf("connection %v, %d callbacks: want the connection closed and one callback", f.conn, len(late))
	}
	late[0]() // the cancellation's callback runs now: must not panic
}

// TestFetchStartRetriesListOffsets: a failed ListOffsets (leader moved)
// is retried; the partition never starts from a guessed offset 0.
func TestFetchStartRetriesListOffsets(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{}, FailurePolicy{OnFailure: Skip}, 0, nil)
	calls := 0
	r.b.listOffsets = func(_ string, _ int32, ts int64, _ int8) (int64, int16) {
		calls++
		if calls <= 2 {
			return -1, int16(kafka.NotLeaderForPartition)
		}
		return 5, 0
	}
	r.serve(func(int, int64) []byte { return empty(5) })
	_, stop := r.consume(kafka.LastOffset)
	waitFor(t, func() bool { _, f, _ := r.offsets(); return len(f) > 0 })
	stop()
	if _, fetched, _ := r.offsets(); fetched[0] != 5 {
		t.Fatalf("first fetch at offset %d, want 5 (the resolved latest offset; fetches %v)", fetched[0], fetched)
	}
}

// TestFetchLatestReadCommittedStartsAtLSO: under read_committed, latest is
// the last stable offset, not the high watermark.
func TestFetchLatestReadCommittedStartsAtLSO(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{IsolationLevel: "read_committed"}, FailurePolicy{OnFailure: Skip}, 0, nil)
	r.b.listOffsets = func(_ string, _ int32, ts int64, iso int8) (int64, int16) {
		if iso == 1 {
			return 3, 0 // last stable offset: a transaction is open from 3
		}
		return 7, 0
	}
	r.serve(func(int, int64) []byte { return empty(7) })
	_, stop := r.consume(kafka.LastOffset)
	waitFor(t, func() bool { _, f, _ := r.offsets(); return len(f) > 0 })
	stop()
	if _, fetched, _ := r.offsets(); fetched[0] != 3 {
		t.Fatalf("first fetch at offset %d, want the last stable offset 3", fetched[0])
	}
}

// TestFetchIdleLatestCommitsStart: a partition started at latest that
// receives nothing still makes its start position committable, so the next
// owner starts there rather than at a later latest.
func TestFetchIdleLatestCommitsStart(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{}, FailurePolicy{OnFailure: Skip}, 0, nil)
	r.b.listOffsets = func(string, int32, int64, int8) (int64, int16) { return 5, 0 }
	r.serve(func(int, int64) []byte { return empty(5) })
	l, stop := r.consume(kafka.LastOffset)
	defer stop()
	waitFor(t, func() bool { _, ok := l.Committable(); return ok })
	if next, _ := l.Committable(); next != 5 {
		t.Fatalf("committable %d, want the start position 5", next)
	}
}

// TestFetchMarkerOnlyTailCommittable: a transactional input ends with its
// commit marker; the committable offset passes the marker (lag 0).
func TestFetchMarkerOnlyTailCommittable(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{IsolationLevel: "read_committed"}, FailurePolicy{OnFailure: Skip}, 0, nil)
	data := encodeBatches(t,
		testBatch{base: 0, n: 2, attrs: attrTransactional, producer: 3},
		testBatch{base: 2, n: 1, attrs: attrTransactional | attrControl, producer: 3, key: []byte{0, 0, 0, 1}})
	r.serve(func(_ int, off int64) []byte {
		if off == 0 {
			return fetchBody{topic: "t", highWater: 3, stable: 3, records: data}.bytes()
		}
		return empty(3)
	})
	l, stop := r.consume(0)
	defer stop()
	waitFor(t, func() bool { next, ok := l.Committable(); return ok && next == 3 })
}

// TestManualFinalCommitOneRequest: at shutdown the drained partitions'
// offsets go out in one OffsetCommit, not one request per partition
// (a hung coordinator would cost each its own timeout), and idle
// partitions started at latest commit their start position.
func TestManualFinalCommitOneRequest(t *testing.T) {
	var parts []PartitionAssignment
	for p := range 3 {
		parts = append(parts, PartitionAssignment{Topic: "t", Partition: p})
	}
	r := newFetchRig(t, 3, KafkaConsumerConfig{Assignments: parts, CommitInterval: time.Hour}, FailurePolicy{OnFailure: Skip}, 0, nil)
	r.b.listOffsets = func(string, int32, int64, int8) (int64, int16) { return 5, 0 }
	r.serve(func(int, int64) []byte { return empty(5) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.src.Run(ctx, r.e) }()
	waitFor(t, func() bool { _, f, _ := r.offsets(); return len(f) >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.b.mu.Lock()
	commits := slices.Clone(r.b.commits)
	r.b.mu.Unlock()
	if len(commits) != 1 || len(commits[0]) != 3 {
		t.Fatalf("final commits %v, want one request for the 3 partitions", commits)
	}
	for p := range int32(3) {
		if off := r.b.committedOffset("t", p); off != 5 {
			t.Errorf("t/%d committed %d, want its start position 5", p, off)
		}
	}
}

// TestFetchUndecodable: a batch that cannot be decoded is fetched again
// max_retries times, reported as stuck (readiness, metric), then the
// failure policy decides: skip steps over it, dead_letter writes it raw
// and steps over, stop stops the processor.
func TestFetchUndecodable(t *testing.T) {
	good1 := encodeBatches(t, testBatch{base: 0, n: 2})
	bad := encodeBatches(t, testBatch{base: 2, n: 2})
	bad[len(bad)-1] ^= 0xff // the CRC no longer matches
	good2 := encodeBatches(t, testBatch{base: 4, n: 2})
	log := slices.Concat(good1, bad, good2)
	answer := func(_ int, off int64) []byte {
		switch {
		case off < 2:
			return fetchBody{topic: "t", highWater: 6, stable: 6, records: log}.bytes()
		case off < 4:
			return fetchBody{topic: "t", highWater: 6, stable: 6, records: slices.Concat(bad, good2)}.bytes()
		case off < 6:
			return fetchBody{topic: "t", highWater: 6, stable: 6, records: good2}.bytes()
		}
		return empty(6)
	}
	for _, policy := range []OnFailure{Skip, DeadLetter, Stop} {
		t.Run(string(policy), func(t *testing.T) {
			dl := &recordSink{}
			r := newFetchRig(t, 1, KafkaConsumerConfig{}, FailurePolicy{OnFailure: policy, DeadLetterTopic: "dlq"}, 2,
				map[string]Sink{"in": dl})
			r.serve(answer)
			l, stop := r.consume(0)
			defer stop()
			switch policy {
			case Stop:
				waitFor(t, func() bool { return r.e.Err() != nil })
				var de *DecodeError
				if !errors.As(r.e.Err(), &de) || de.Offset != 2 {
					t.Fatalf("stopped with %v, want the undecodable batch at 2", r.e.Err())
				}
				h := &health{e: r.e, failures: map[string][]time.Time{}}
				if p := strings.Join(h.problems(), "\n"); !strings.Contains(p, "partition t/0 stuck at offset 2: undecodable record batch") ||
					!strings.Contains(p, "CRC mismatch") {
					t.Fatalf("readiness problems:\n%s\nwant the stuck partition named with its offset and cause", p)
				}
				if _, scrape := scrapeEngine(t, r.e); !strings.Contains(scrape, `kgen_partition_stuck{partition="0",source="in",topic="t"} 1`) {
					t.Fatalf("metrics lack the stuck partition:\n%s", scrape)
				}
				if next, _ := l.Committable(); next > 2 {
					t.Fatalf("committable %d: passed the undecodable batch under stop", next)
				}
				seen, _, _ := r.offsets()
				if slices.Contains(seen, 4) {
					t.Fatalf("records after the bad batch processed under stop: %v", seen)
				}
			default:
				waitFor(t, func() bool { next, ok := l.Committable(); return ok && next == 6 })
				seen, fetched, _ := r.offsets()
				if !slices.Equal(seen, []int64{0, 1, 4, 5}) {
					t.Fatalf("processed %v, want [0 1 4 5]", seen)
				}
				// Tried 1 + max_retries 2 times: in the fetch at 0, then
				// twice at its own offset.
				if n := countOf(fetched, 2); n != 2 || fetched[0] != 0 {
					t.Errorf("fetches %v: want the bad batch fetched at 0 and twice at 2", fetched)
				}
				if l.(*laneHandle).problem.Load() != nil {
					t.Error("the fetch problem was not cleared after stepping over the batch")
				}
			}
			if policy == DeadLetter {
				msgs := dl.taken()
				if len(msgs) != 1 || string(msgs[0].Value) != string(bad) || msgs[0].Topic != "dlq" {
					t.Fatalf("dead letters %+v, want the raw batch on dlq", msgs)
				}
				h := map[string]string{}
				for _, hd := range msgs[0].Headers {
					h[hd.Key] = string(hd.Value)
				}
				if h[HeaderOffset] != "2" || h[HeaderNextOffset] != "4" || h[HeaderTopic] != "t" || !strings.Contains(h[HeaderError], "CRC") {
					t.Fatalf("dead-letter headers %v", h)
				}
			}
		})
	}
}

func countOf(s []int64, v int64) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// recordSink acknowledges every message at once and keeps them.
type recordSink struct {
	mu   sync.Mutex
	msgs []Message
}

func (s *recordSink) Write(_ context.Context, msgs []Message) error {
	s.mu.Lock()
	s.msgs = append(s.msgs, msgs...)
	s.mu.Unlock()
	for _, m := range msgs {
		m.Ack.Done(nil)
	}
	return nil
}

func (s *recordSink) Close(context.Context) error { return nil }

func (s *recordSink) taken() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// TestFetchFailuresInReadiness: a partition whose fetches keep failing is
// named in /readyz with the reason; once fetching works again the reason
// goes away by itself.
func TestFetchFailuresInReadiness(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{}, FailurePolicy{OnFailure: Skip}, 0, nil)
	var mu sync.Mutex
	failing := true
	r.serve(func(int, int64) []byte {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return fetchBody{topic: "t", code: int16(kafka.NotLeaderForPartition)}.bytes()
		}
		return empty(0)
	})
	_, stop := r.consume(0)
	defer stop()
	h := &health{e: r.e, failures: map[string][]time.Time{}}
	want := "partition t/0: fetch failing at offset 0: not leader"
	waitFor(t, func() bool { return strings.Contains(strings.Join(h.problems(), "\n"), want) })
	mu.Lock()
	failing = false
	mu.Unlock()
	waitFor(t, func() bool { return !strings.Contains(strings.Join(h.problems(), "\n"), "partition t/0") })
}

// TestFetchBackoffResetAfterEmptyFetch: a successful fetch, even an empty
// one, resets the retry backoff: the next failure waits the minimum again.
func TestFetchBackoffResetAfterEmptyFetch(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{RetryBackoff: 100 * time.Millisecond}, FailurePolicy{OnFailure: Skip}, 0, nil)
	r.serve(func(i int, _ int64) []byte {
		if i == 3 {
			return empty(0) // works once, between failures
		}
		return nil // the broker drops the connection
	})
	_, stop := r.consume(0)
	waitFor(t, func() bool { _, _, s := r.offsets(); return len(s) >= 4 })
	stop()
	_, _, sleeps := r.offsets()
	// Failures 1-3 wait about 100, 200, 400 ms (jitter: half to all);
	// after the empty success, failure 4 waits about 100 ms again.
	if sleeps[2] < 200*time.Millisecond || sleeps[3] > 100*time.Millisecond {
		t.Fatalf("backoff waits %v: want the wait after a successful fetch back at the minimum", sleeps)
	}
}

// TestFetchHonoursThrottle: a response carrying throttle_time_ms makes the
// fetcher wait that long before its next request to the broker.
func TestFetchHonoursThrottle(t *testing.T) {
	b := newFakeBroker(t, map[string]int{"t": 1})
	n := 0
	b.fetch = func(*fetchAPI.Request) []byte {
		n++
		if n == 1 {
			return fetchBody{topic: "t", throttleMs: 1500}.bytes()
		}
		return empty(0)
	}
	cfg := withMaxBatch(kafkaConsumerDefaults(KafkaConsumerConfig{Brokers: []string{b.addr()}, MaxWait: 10 * time.Millisecond}), 64<<20)
	f := newPartitionFetcher(&cfg, fetchDialer(&kafka.Dialer{ClientID: "t", Timeout: time.Second}, nil), nil, nil, "t", 0)
	defer f.close()
	var waits []time.Duration
	f.sleep = func(_ context.Context, d time.Duration) { waits = append(waits, d) }
	for range 2 {
		if _, _, _, err := f.fetch(context.Background(), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(waits) != 1 || waits[0] <= time.Second || waits[0] > 1500*time.Millisecond {
		t.Fatalf("waits before requests %v, want one of up to 1.5s (the throttle) before the second", waits)
	}
	if b.count(protocol.Fetch) != 2 {
		t.Fatalf("%d fetches, want 2", b.count(protocol.Fetch))
	}
}

// TestKafkaSourceReadyReportsGroupJoinFailure: while the group cannot be
// joined (no coordinator), the source says so.
func TestKafkaSourceReadyReportsGroupJoinFailure(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{}, FailurePolicy{OnFailure: Skip}, 0, nil)
	r.b.coordinatorErr = 15 // COORDINATOR_NOT_AVAILABLE
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.src.Run(ctx, r.e) }()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, func() bool {
		err := r.src.Ready()
		return err != nil && strings.Contains(err.Error(), "consumer group g: joining failed")
	})
}

// scrapeEngine returns the engine's metrics in the text format.
func scrapeEngine(t *testing.T, e *Engine) (int, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.Collector())
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

// TestKafkaSourceReportsMissingTopic: an input topic that does not exist
// is named by Ready (and warned about once); once it exists the reason
// goes away, and the partition watcher sees the change.
func TestKafkaSourceReportsMissingTopic(t *testing.T) {
	r := newFetchRig(t, 1, KafkaConsumerConfig{Topics: []string{"t", "later"}}, FailurePolicy{OnFailure: Skip}, 0, nil)
	counts, err := r.src.partitionCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts["t"] != 1 || counts["later"] != 0 {
		t.Fatalf("partition counts %v, want t 1, later 0", counts)
	}
	if err := r.src.Ready(); err == nil || !strings.Contains(err.Error(), "input topic missing: later") {
		t.Fatalf("Ready() = %v, want the missing topic named", err)
	}
	r.b.mu.Lock()
	r.b.topics["later"] = 2
	r.b.mu.Unlock()
	counts, err = r.src.partitionCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts["later"] != 2 || r.src.Ready() != nil {
		t.Fatalf("after creation: counts %v, Ready() = %v", counts, r.src.Ready())
	}
}
