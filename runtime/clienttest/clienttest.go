// Package clienttest is the conformance suite every client runs, as
// Watermill's pub/sub tests are for its backends: an outbound client's
// (runtime.Sink) own test builds it through a SinkFactory and calls
// TestSink; an inbound client's (runtime.Source) calls TestSource.
//
//	func TestConformance(t *testing.T) {
//		clienttest.TestSink(t, func(t *testing.T, o clienttest.SinkOptions) clienttest.SinkSetup {
//			s, err := mysink.New(cfg)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return clienttest.SinkSetup{Sink: s, ReadBack: readWhatItWrote}
//		})
//	}
//
// The suite checks the runtime.Sink contract (see runtime/client.go): order
// per partition, acknowledgement only after durability, exactly one
// outcome per accepted message, transient and permanent failures told
// apart, Close flushing everything, no goroutine left behind, and no
// memory kept for acknowledged messages. The subtests that need a fault
// injected skip (with the reason) for a client that offers no such hook;
// the others run for every client.
//
// The suite writes values it can recognise ("clienttest|key|seq|..."):
// a client that writes only values (a file, stdout) can be read back.
//
// TestSource does the same for an inbound client (runtime.Source) against
// a fake engine (Intake): records in offset order, each once; commits only
// of what the engine reports finished; lanes drained; no goroutine left.
//
// It imports only runtime and the standard library.
package clienttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goruntime "runtime"

	"github.com/kgen-dev/kgen/runtime"
)

// SinkOptions tells a SinkFactory what the subtest needs.
type SinkOptions struct {
	// Faults: the subtest injects failures through SinkSetup.FailTransient
	// or FailPermanent, so the factory may build the client with its
	// fault-injection seam. When false, build it exactly as production
	// does.
	Faults bool
	// Discard: the subtest writes a lot and reads nothing back (it
	// measures memory), so a client writing to a stream the factory keeps
	// in memory may drop what it writes, lest the stream's growth count
	// as the client's.
	Discard bool
}

// SinkSetup is one freshly built client under test.
type SinkSetup struct {
	// Sink is the client. The suite closes it.
	Sink runtime.Sink
	// Workers is the number of workers the sink was built for: the suite
	// sets Message.Worker in [0, Workers). Zero means 1.
	Workers int
	// ReadBack returns what the client has made durable so far (what a
	// reader downstream sees), as the values of each partition (or file,
	// or stream), each in the order written. It is called while the sink
	// is open and after Close. Values that are not the suite's fail the
	// test, so ReadBack must read only what this sink wrote.
	ReadBack func(t testing.TB) [][][]byte
	// FailTransient, optional, makes the client's durable path fail from
	// now on with an error that writing again may cure (a disk full, a
	// broker away) until heal is called.
	FailTransient func() (heal func())
	// FailPermanent, optional, makes the durable path fail with an error
	// that writing again cannot cure (a read-only file system, not
	// authorized). heal may be nil when the client cannot recover (it then
	// stays failed).
	FailPermanent func() (heal func())
}

// SinkFactory builds a fresh client for one subtest. It registers with t
// whatever needs cleaning up besides the Sink (topics, files).
type SinkFactory func(t *testing.T, o SinkOptions) SinkSetup

// waitLimit guards every wait of the suite against a hang; it is not a
// performance bound: a client that is merely slow passes.
const waitLimit = 3 * time.Minute

// TestSink runs the conformance suite against the client f builds.
func TestSink(t *testing.T, f SinkFactory) {
	t.Run("OrderPerKey", func(t *testing.T) { testOrder(t, f) })
	t.Run("AckAfterDurable", func(t *testing.T) { testAckAfterDurable(t, f) })
	t.Run("CloseFlushes", func(t *testing.T) { testClose(t, f) })
	t.Run("CloseRacesWrite", func(t *testing.T) { testCloseRace(t, f) })
	t.Run("NoGoroutineLeak", func(t *testing.T) { testLeak(t, f) })
	t.Run("MemoryReleased", func(t *testing.T) { testMemory(t, f) })
	t.Run("TransientFailure", func(t *testing.T) { testFailure(t, f, false) })
	t.Run("PermanentFailure", func(t *testing.T) { testFailure(t, f, true) })
}

// build calls f and checks what it returned.
func build(t *testing.T, f SinkFactory, o SinkOptions) SinkSetup {
	t.Helper()
	s := f(t, o)
	if s.Sink == nil || s.ReadBack == nil {
		t.Fatal("clienttest: the factory returned no Sink or no ReadBack")
	}
	if s.Workers <= 0 {
		s.Workers = 1
	}
	// A subtest that fails early still releases the client (Close is
	// idempotent: the suite's own Close comes first when it gets there).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		_ = s.Sink.Close(ctx)
	})
	return s
}

// closeSink closes s within waitLimit and fails the test on an error.
func closeSink(t *testing.T, s runtime.Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// msg is one message the suite wrote, and its Acker.
type msg struct {
	tr       *tracker
	key      string
	seq      int
	accepted bool
	dones    atomic.Int32
	err      error  // guarded by tr.mu
	doneAt   uint64 // tr.clock at Done, guarded by tr.mu
}

// Done implements runtime.Acker.
func (m *msg) Done(err error) {
	tr := m.tr
	n := m.dones.Add(1)
	if n > 1 {
		tr.t.Errorf("%s/%d: Done called %d times (err %v): an Acker is called exactly once", m.key, m.seq, n, err)
		return
	}
	tr.mu.Lock()
	m.err = err
	m.doneAt = tr.clock.Add(1)
	tr.done++
	tr.mu.Unlock()
}

// tracker is every message of one subtest.
type tracker struct {
	t     *testing.T
	clock atomic.Uint64
	mu    sync.Mutex
	msgs  map[string]*msg // by key/seq
	keys  map[string]int  // next seq per key
	done  int             // Done calls
	sent  int             // messages accepted by Write
}

func newTracker(t *testing.T) *tracker {
	return &tracker{t: t, msgs: map[string]*msg{}, keys: map[string]int{}}
}

func id(key string, seq int) string { return key + "/" + strconv.Itoa(seq) }

// next makes the next message of key, its value padded to size bytes.
func (tr *tracker) next(key string, size int, worker int) runtime.Message {
	tr.mu.Lock()
	seq := tr.keys[key]
	tr.keys[key] = seq + 1
	m := &msg{tr: tr, key: key, seq: seq}
	tr.msgs[id(key, seq)] = m
	tr.mu.Unlock()
	v := fmt.Appendf(nil, "clienttest|%s|%d|", key, seq)
	if len(v) < size {
		v = append(v, bytes.Repeat([]byte{'x'}, size-len(v))...)
	}
	return runtime.Message{Key: []byte(key), Value: v, Worker: worker, Ack: m}
}

// write hands msgs to s and records which were accepted.
func (tr *tracker) write(s runtime.Sink, msgs []runtime.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := s.Write(ctx, msgs)
	if err == nil {
		tr.mu.Lock()
		for i := range msgs {
			msgs[i].Ack.(*msg).accepted = true
		}
		tr.sent += len(msgs)
		tr.mu.Unlock()
	}
	return err
}

// wait returns once every accepted message has its outcome.
func (tr *tracker) wait(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		tr.mu.Lock()
		done, sent := tr.done, tr.sent
		tr.mu.Unlock()
		if done >= sent {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages have no outcome after %s", sent-done, sent, waitLimit)
		}
		time.Sleep(time.Millisecond)
	}
}

// outcome returns m's outcome: whether Done was called, and its error.
func (tr *tracker) outcome(m *msg) (bool, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return m.dones.Load() > 0, m.err
}

// acked returns the ids of the messages acknowledged without error.
func (tr *tracker) acked() map[string]bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ids := map[string]bool{}
	for k, m := range tr.msgs {
		if m.dones.Load() > 0 && m.err == nil {
			ids[k] = true
		}
	}
	return ids
}

// parsed is one value read back.
type parsed struct {
	key string
	seq int
}

// parse reads back everything durable and returns, per partition, the
// suite's messages in order.
func parse(t testing.TB, s SinkSetup) [][]parsed {
	t.Helper()
	out, err := parseErr(t, s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseErr is parse returning its error (for goroutines other than the
// test's).
func parseErr(t testing.TB, s SinkSetup) ([][]parsed, error) {
	var out [][]parsed
	for p, vals := range s.ReadBack(t) {
		var part []parsed
		for i, v := range vals {
			f := bytes.SplitN(v, []byte("|"), 4)
			if len(f) != 4 || string(f[0]) != "clienttest" {
				return nil, fmt.Errorf("partition %d, position %d: read back %.40q, not a value the suite wrote", p, i, v)
			}
			seq, err := strconv.Atoi(string(f[2]))
			if err != nil {
				return nil, fmt.Errorf("partition %d, position %d: read back %.40q: bad sequence", p, i, v)
			}
			part = append(part, parsed{string(f[1]), seq})
		}
		out = append(out, part)
	}
	return out, nil
}

// checkAcked fails t for every id in acked that parts does not hold:
// acknowledged without being durable.
func checkAcked(t *testing.T, acked map[string]bool, parts [][]parsed) {
	t.Helper()
	held := map[string]bool{}
	for _, part := range parts {
		for _, p := range part {
			held[id(p.key, p.seq)] = true
		}
	}
	var missing []string
	for k := range acked {
		if !held[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%d messages acknowledged but not durable (read back), e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
}

// perKey returns each key's sequence numbers in read-back order, failing t
// for a key found in two partitions (its order would be lost).
func perKey(t *testing.T, parts [][]parsed) map[string][]int {
	t.Helper()
	home := map[string]int{}
	seqs := map[string][]int{}
	for p, part := range parts {
		for _, m := range part {
			if h, ok := home[m.key]; ok && h != p {
				t.Errorf("key %s read back from partitions %d and %d: one key must land in one partition", m.key, h, p)
			}
			home[m.key] = p
			seqs[m.key] = append(seqs[m.key], m.seq)
		}
	}
	return seqs
}

// checkReplayOrder checks one key's read-back sequence numbers: in order
// except replays (at least once: a run may start again at or below what
// was already written, then goes on by one), no acknowledged message
// jumped over (only failed ones may be missing), and the last one the
// newest (a replay never ends behind newer data), at least newest.
func checkReplayOrder(t *testing.T, key string, got []int, acked func(seq int) bool, newest int) {
	t.Helper()
	high := -1
	for i, s := range got {
		prev := -1
		if i > 0 {
			prev = got[i-1]
		}
		if s != prev+1 && s > high {
			for x := high + 1; x < s; x++ {
				if acked(x) {
					t.Errorf("key %s: read back %d after %d, jumping over acknowledged %d: not in order; read back %v", key, s, prev, x, abbrev(got))
					return
				}
			}
		}
		high = max(high, s)
	}
	if len(got) > 0 && got[len(got)-1] != high {
		t.Errorf("key %s: the last message read back is %d, behind %d: an older message landed after a newer one; read back %v", key, got[len(got)-1], high, abbrev(got))
	}
	if high < newest {
		t.Errorf("key %s: newest acknowledged message %d missing (highest read back %d)", key, newest, high)
	}
}

func abbrev(s []int) []int {
	if len(s) > 40 {
		return s[len(s)-40:]
	}
	return s
}

// writeLoad writes perKey messages for each of keys keys from each of
// workers goroutines (goroutine g owns its keys, as an engine worker owns
// a key while it works on it, and writes as Message.Worker g%nw), in
// batches of 1 to 16 mixing its keys. It returns the first Write error.
func writeLoad(tr *tracker, s SinkSetup, goroutines, keys, perKey, size int, prefix string) error {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			left := make([]int, keys)
			for k := range left {
				left[k] = perKey
			}
			total := keys * perKey
			for total > 0 {
				n := min(1+rng.IntN(16), total)
				batch := make([]runtime.Message, 0, n)
				for len(batch) < n {
					k := rng.IntN(keys)
					if left[k] == 0 {
						continue
					}
					left[k]--
					batch = append(batch, tr.next(fmt.Sprintf("%s%d-%d", prefix, g, k), size, g%s.Workers))
				}
				total -= n
				if err := tr.write(s.Sink, batch); err != nil {
					errs <- fmt.Errorf("Write: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// testOrder: many keys from several goroutines, many messages each; every
// message is acknowledged, and read back once, in order per key.
func testOrder(t *testing.T, f SinkFactory) {
	s := build(t, f, SinkOptions{})
	tr := newTracker(t)
	const goroutines, keys, per = 4, 6, 150
	if err := writeLoad(tr, s, goroutines, keys, per, 0, "o"); err != nil {
		t.Fatal(err)
	}
	tr.wait(t)
	for k, m := range tr.msgs {
		if _, err := tr.outcome(m); err != nil {
			t.Fatalf("%s: %v (no fault was injected)", k, err)
		}
	}
	closeSink(t, s.Sink)
	seqs := perKey(t, parse(t, s))
	if len(seqs) != goroutines*keys {
		t.Errorf("read back %d keys, want %d", len(seqs), goroutines*keys)
	}
	for key, got := range seqs {
		if len(got) != per {
			t.Errorf("key %s: read back %d messages, want %d (each once)", key, len(got), per)
		}
		for i, s := range got {
			if s != i {
				t.Errorf("key %s: position %d holds message %d: not each once, in order; read back %v", key, i, s, abbrev(got))
				break
			}
		}
	}
}

// testAckAfterDurable: while messages are being written, every message
// acknowledged (Done(nil)) is already durable: a read back taken after
// the acknowledgements were seen holds them all. Each accepted message
// gets exactly one Done (a second is reported by the Acker itself).
func testAckAfterDurable(t *testing.T, f SinkFactory) {
	s := build(t, f, SinkOptions{})
	tr := newTracker(t)
	// Waves of writes until the checker has seen acknowledgements while
	// writes went on (a client may acknowledge only on a timer).
	const goroutines, keys, per, maxWaves = 3, 4, 20, 500
	var seen atomic.Int32
	type result struct {
		waves int
		err   error
	}
	wrote := make(chan result, 1)
	var checks atomic.Int64
	go func() {
		waves := 0
		for ; waves < maxWaves && seen.Load() < 5; waves++ {
			if err := writeLoad(tr, s, goroutines, keys, per, 0, "a"+strconv.Itoa(waves)+"-"); err != nil {
				wrote <- result{waves, err}
				return
			}
			// Let a whole check run after this wave before the next
			// (a read back of a growing output may be slow).
			for c := checks.Load(); checks.Load() < c+2; {
				time.Sleep(time.Millisecond)
			}
		}
		wrote <- result{waves, nil}
	}()
	var res result
	for done := false; !done; {
		select {
		case res = <-wrote:
			done = true
		default:
		}
		acked := tr.acked()
		checkAcked(t, acked, parse(t, s))
		if t.Failed() {
			seen.Store(1 << 20) // stops the writer
			checks.Store(1 << 40)
			if !done {
				<-wrote
			}
			return
		}
		if len(acked) > 0 {
			seen.Add(1)
		}
		checks.Add(1)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	tr.wait(t)
	acked := tr.acked()
	checkAcked(t, acked, parse(t, s)) // before Close: Close would flush
	total := res.waves * goroutines * keys * per
	if len(acked) != total {
		t.Errorf("%d of %d messages acknowledged without error (no fault was injected)", len(acked), total)
	}
	t.Logf("%d waves of writes, %d read backs found some acknowledgement", res.waves, seen.Load())
	closeSink(t, s.Sink)
}

// testClose: Close right after Write flushes: once Close returns nil,
// every accepted message has had its one outcome, all acknowledged and
// durable. Write after Close returns an error and calls no Acker; Close
// again returns the same nil.
func testClose(t *testing.T, f SinkFactory) {
	s := build(t, f, SinkOptions{})
	tr := newTracker(t)
	if err := writeLoad(tr, s, 2, 5, 200, 0, "c"); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s.Sink)
	tr.mu.Lock()
	done, sent := tr.done, tr.sent
	tr.mu.Unlock()
	if done != sent {
		t.Fatalf("Close returned nil with %d of %d accepted messages without an outcome", sent-done, sent)
	}
	acked := tr.acked()
	if len(acked) != sent {
		t.Errorf("%d of %d messages failed although Close flushed without error", sent-len(acked), sent)
	}
	checkAcked(t, acked, parse(t, s))

	late := tr.next("late", 0, 0)
	err := s.Sink.Write(context.Background(), []runtime.Message{late})
	if err == nil {
		t.Error("Write after Close returned nil, want an error")
	} else if !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Write after Close: %v, want runtime.ErrClosed", err)
	}
	if err := s.Sink.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v, want the first one's nil", err)
	}
	if late.Ack.(*msg).dones.Load() != 0 {
		t.Error("Write after Close returned an error but called the Acker")
	}
}

// testCloseRace: Close while several goroutines keep writing. Each Write
// either returns an error (and calls no Acker) or accepts its messages,
// and every accepted message gets exactly one outcome, even those a Write
// racing with Close slipped in; the acknowledged ones are durable.
func testCloseRace(t *testing.T, f SinkFactory) {
	s := build(t, f, SinkOptions{})
	tr := newTracker(t)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				batch := make([]runtime.Message, 1+i%5)
				for j := range batch {
					batch[j] = tr.next("r"+strconv.Itoa(g), 0, g%s.Workers)
				}
				if err := tr.write(s.Sink, batch); err != nil {
					refused.Add(int64(len(batch)))
					return
				}
			}
		}()
	}
	for {
		tr.mu.Lock()
		sent := tr.sent
		tr.mu.Unlock()
		if sent >= 1000 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cerr := s.Sink.Close(ctx)
	wg.Wait()
	if cerr != nil {
		t.Fatalf("Close: %v", cerr)
	}
	tr.wait(t)
	for _, m := range tr.msgs {
		if !m.accepted && m.dones.Load() != 0 {
			t.Errorf("%s/%d: Write returned an error but its Acker was called", m.key, m.seq)
		}
	}
	acked := tr.acked()
	checkAcked(t, acked, parse(t, s))
	tr.mu.Lock()
	t.Logf("%d messages accepted, %d acknowledged, %d refused after Close", tr.sent, len(acked), refused.Load())
	tr.mu.Unlock()
}

// testLeak: every goroutine the client started has ended once Close
// returned (allowing the scheduler to let them finish; no timed bound).
func testLeak(t *testing.T, f SinkFactory) {
	before := goroutines()
	func() {
		s := build(t, f, SinkOptions{})
		tr := newTracker(t)
		if err := writeLoad(tr, s, 2, 3, 50, 0, "l"); err != nil {
			t.Fatal(err)
		}
		tr.wait(t)
		parse(t, s)
		closeSink(t, s.Sink)
	}()
	checkLeaks(t, before)
}

// checkLeaks fails t for each goroutine not in before that does not end
// (allowing the scheduler time to let them finish; no timed bound).
func checkLeaks(t *testing.T, before map[uint64]string) {
	t.Helper()
	var extra map[uint64]string
	deadline := time.Now().Add(waitLimit)
	for {
		extra = map[uint64]string{}
		for gid, stack := range goroutines() {
			if _, ok := before[gid]; !ok {
				extra[gid] = stack
			}
		}
		if len(extra) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, stack := range extra {
		t.Errorf("goroutine left running:\n%s", stack)
	}
}

// testMemory: the client keeps nothing of a message once acknowledged.
// With at most inflight messages unacknowledged at a time (the engine's
// in-flight bound does the same), many times that volume goes through,
// and the heap after the last acknowledgement is within a bound far below
// the volume written: a client that kept acknowledged messages (their
// values, Ackers, batches) fails.
func testMemory(t *testing.T, f SinkFactory) {
	const (
		size     = 16 << 10
		inflight = 32
		total    = 2048 // 32 MiB
		limit    = 12 << 20
	)
	s := build(t, f, SinkOptions{Discard: true})
	tr := newTracker(t)
	base := heap()
	sem := make(chan struct{}, inflight)
	for i := range total {
		sem <- struct{}{}
		m := tr.next("m"+strconv.Itoa(i%4), size, i%s.Workers)
		m.Ack = release{m.Ack, sem}
		if err := s.Sink.Write(context.Background(), []runtime.Message{m}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		tr.mu.Lock()
		tr.sent++
		tr.mu.Unlock()
	}
	tr.wait(t)
	after := heap()
	t.Logf("heap %d KiB before, %d KiB after %d MiB written", base>>10, after>>10, total*size>>20)
	if grown := int64(after) - int64(base); grown > limit {
		t.Errorf("heap grew by %d MiB after %d MiB written with %d messages in flight at most: acknowledged messages are kept", grown>>20, total*size>>20, inflight)
	}
	for _, m := range tr.msgs {
		if _, err := tr.outcome(m); err != nil {
			t.Fatalf("%s/%d: %v (no fault was injected)", m.key, m.seq, err)
		}
	}
	closeSink(t, s.Sink)
}

// release is an Acker that frees an in-flight slot after the message's own.
type release struct {
	runtime.Acker
	sem chan struct{}
}

func (r release) Done(err error) {
	r.Acker.Done(err)
	<-r.sem
}

// testFailure: with the durable path failing, no message written then is
// acknowledged, each error is classified (transient: not ErrPermanent;
// permanent: the first failure of the partition is ErrPermanent), and
// once healed, the failed messages written again (transient) or skipped
// (permanent, as a failure policy does) land in order: none of the failed
// ones is written later behind newer messages.
func testFailure(t *testing.T, f SinkFactory, permanent bool) {
	s := build(t, f, SinkOptions{Faults: true})
	inject := s.FailTransient
	if permanent {
		inject = s.FailPermanent
	}
	if inject == nil {
		closeSink(t, s.Sink)
		t.Skip("the client offers no hook to inject this failure")
	}
	tr := newTracker(t)
	const key = "f"
	batch := func(n int) []runtime.Message {
		out := make([]runtime.Message, n)
		for i := range out {
			out[i] = tr.next(key, 0, 0)
		}
		return out
	}
	before := batch(20)
	if err := tr.write(s.Sink, before); err != nil {
		t.Fatal(err)
	}
	tr.wait(t)
	for _, m := range before {
		if _, err := tr.outcome(m.Ack.(*msg)); err != nil {
			t.Fatalf("before the failure: %v", err)
		}
	}

	heal := inject()
	failed := batch(30)
	var accepted []runtime.Message
	for i := 0; i < len(failed); i += 10 {
		if err := tr.write(s.Sink, failed[i:i+10]); err == nil {
			accepted = append(accepted, failed[i:i+10]...)
		}
	}
	tr.wait(t)
	for i, m := range accepted {
		_, err := tr.outcome(m.Ack.(*msg))
		switch {
		case err == nil:
			t.Fatalf("message %d written while the durable path fails was acknowledged", i)
		case !permanent && errors.Is(err, runtime.ErrPermanent):
			t.Errorf("message %d: transient failure reported permanent: %v", i, err)
		case permanent && i == 0 && !errors.Is(err, runtime.ErrPermanent):
			t.Errorf("first message of the partition: permanent failure reported transient: %v", err)
		}
	}
	if heal == nil {
		// The client stays failed: Close may report that.
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		_ = s.Sink.Close(ctx)
		return
	}
	heal()

	var again []runtime.Message
	if !permanent {
		// As the engine does: the failed messages go again, in order.
		for _, m := range accepted {
			m.Ack.(*msg).dones.Store(0)
			tr.mu.Lock()
			tr.done--
			tr.sent--
			tr.mu.Unlock()
			again = append(again, m)
		}
	}
	again = append(again, batch(20)...)
	if err := tr.write(s.Sink, again); err != nil {
		t.Fatalf("Write after heal: %v", err)
	}
	tr.wait(t)
	for i, m := range again {
		if _, err := tr.outcome(m.Ack.(*msg)); err != nil {
			t.Fatalf("message %d after the failure was healed: %v", i, err)
		}
	}
	closeSink(t, s.Sink)
	parts := parse(t, s)
	acked := tr.acked()
	checkAcked(t, acked, parts)
	newest := again[len(again)-1].Ack.(*msg).seq
	for k, got := range perKey(t, parts) {
		checkReplayOrder(t, k, got, func(seq int) bool { return acked[id(k, seq)] }, newest)
	}
}

// heap returns the bytes of live heap objects after a full collection.
func heap() uint64 {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// goroutines returns every goroutine's stack by goroutine id.
func goroutines() map[uint64]string {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[uint64]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		var gid uint64
		if _, err := fmt.Sscanf(string(g), "goroutine %d ", &gid); err == nil {
			out[gid] = string(g)
		}
	}
	return out
}
