package kafka_test

// Real-broker tests of the runtime's delivery semantics. They need the
// broker that internal/kafkatest starts (scripts/kafka.sh); under CI=true
// they fail when it cannot start.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
	_ "github.com/kgen-dev/kgen/runtime/builtin"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

// keyedMessages makes n records over keys keys; each value is
// "key:seq" with seq counting that key's records, so order per key can be
// checked from the values alone.
func keyedMessages(n, keys int, prefix string) []kafka.Message {
	seq := make([]int, keys)
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		k := i % keys
		key := fmt.Sprintf("%sk%d", prefix, k)
		msgs[i] = kafka.Message{Key: []byte(key), Value: []byte(fmt.Sprintf("%s:%08d", key, seq[k])),
			Headers: []kafka.Header{{Key: "h", Value: []byte(key)}}}
		seq[k]++
	}
	return msgs
}

// verify checks got against sent: every sent value present (lost = 0),
// per-key order of first appearances intact, and returns the duplicates.
func verify(t *testing.T, sent, got []kafka.Message) (dups int) {
	t.Helper()
	want := map[string]bool{}
	for _, m := range sent {
		want[string(m.Value)] = true
	}
	seen := map[string]int{}
	last := map[string]string{}
	for _, m := range got { // sorted by partition, offset: the log's order
		v := string(m.Value)
		if !want[v] {
			t.Fatalf("unexpected output value %q", v)
		}
		seen[v]++
		if seen[v] > 1 {
			dups++
			continue
		}
		k := string(m.Key)
		if prev, ok := last[k]; ok && v < prev {
			t.Fatalf("key %s out of order: %s after %s", k, v, prev)
		}
		last[k] = v
		if len(m.Headers) == 0 || string(m.Headers[0].Value) != k {
			t.Fatalf("headers not preserved on %s: %v", v, m.Headers)
		}
	}
	lost := 0
	for v := range want {
		if seen[v] == 0 {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d records lost (%d outputs read)", lost, len(sent), len(got))
	}
	return dups
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func passthrough(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
	return []runtime.Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}, nil
}

func kafkaConfig(addr, group string, topics []string, out string, workers int, log *slog.Logger) runtime.Config {
	return runtime.Config{
		Workers: workers,
		Inbound: []runtime.InboundConfig{{ID: "in", Name: consumer.Name, MaxRetries: 2,
			Config: &consumer.Config{Brokers: []string{addr}, GroupID: group, Topics: topics,
				AutoOffsetReset: "earliest", CommitInterval: 200 * time.Millisecond, MaxWait: 100 * time.Millisecond,
				HeartbeatInterval: time.Second}}},
		Outbound: []runtime.OutboundConfig{{ID: "out", Name: producer.Name,
			Config: &producer.Config{Brokers: []string{addr}, Topic: out, Acks: -1,
				Linger: 5 * time.Millisecond, BatchSize: 1000, MaxAttempts: 5, AckTimeout: 30 * time.Second}}},
		Failure: runtime.FailurePolicy{Backoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		Logger:  log,
	}
}

// runInProcess runs runtime.Run until stop is called; stop returns Run's
// error (and may be called again: it returns the same error).
func runInProcess(t *testing.T, cfg runtime.Config, h runtime.Handler) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- runtime.Run(ctx, cfg, h) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(30 * time.Second):
				t.Error("runtime.Run did not return within 30s of cancellation")
			}
		})
		return err
	}
}

func committedTotal(t *testing.T, addr, group, topic string) int64 {
	var n int64
	for _, off := range kafkatest.CommittedOffsets(t, addr, group, topic) {
		if off > 0 {
			n += off
		}
	}
	return n
}

func TestKafkaPassthrough100k(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 6), kafkatest.Topic(t, addr, 6)
	sent := keyedMessages(100_000, 1000, "")
	kafkatest.Produce(t, addr, in, sent)
	group := "g-" + in
	stop := runInProcess(t, kafkaConfig(addr, group, []string{in}, out, 8, testLogger(t)), passthrough)
	got := kafkatest.ReadAll(t, addr, out, len(sent), 90*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if dups := verify(t, sent, got); dups != 0 {
		t.Errorf("%d duplicates in a run without failures", dups)
	}
	if c := committedTotal(t, addr, group, in); c != int64(len(sent)) {
		t.Errorf("committed %d offsets in total after a clean stop, want %d", c, len(sent))
	}
}

func TestKafkaDeadLetter(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out, dlq := kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 1)
	sent := keyedMessages(200, 20, "")
	sent[50].Value = []byte("POISON")
	kafkatest.Produce(t, addr, in, sent)
	cfg := kafkaConfig(addr, "g-"+in, []string{in}, out, 4, testLogger(t))
	cfg.Failure.OnFailure = runtime.DeadLetter
	cfg.Failure.DeadLetterTopic = dlq
	h := func(ctx context.Context, r *runtime.Record) ([]runtime.Output, error) {
		if string(r.Value) == "POISON" {
			return nil, fmt.Errorf("cannot process %q", r.Value)
		}
		return passthrough(ctx, r)
	}
	stop := runInProcess(t, cfg, h)
	got := kafkatest.ReadAll(t, addr, out, len(sent)-1, 60*time.Second)
	dead := kafkatest.ReadAll(t, addr, dlq, 1, 30*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != len(sent)-1 {
		t.Fatalf("outputs %d, want %d", len(got), len(sent)-1)
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters %d, want 1", len(dead))
	}
	hdr := map[string]string{}
	for _, h := range dead[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if hdr[runtime.HeaderTopic] != in || hdr[runtime.HeaderAttempts] != "3" ||
		!strings.Contains(hdr[runtime.HeaderError], "cannot process") || hdr[runtime.HeaderOffset] == "" {
		t.Fatalf("dead-letter headers %v", hdr)
	}
	if string(dead[0].Key) != string(sent[50].Key) || string(dead[0].Value) != "POISON" {
		t.Fatalf("dead letter %q=%q, want the original record", dead[0].Key, dead[0].Value)
	}
	if c := committedTotal(t, addr, "g-"+in, in); c != int64(len(sent)) {
		t.Errorf("committed %d, want %d (the dead-lettered record is finished)", c, len(sent))
	}
}

func TestKafkaDeadLetterTopicMissingHaltsPartition(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 1), kafkatest.Topic(t, addr, 1)
	sent := keyedMessages(100, 10, "")
	sent[40].Value = []byte("POISON")
	kafkatest.Produce(t, addr, in, sent)
	group := "g-" + in
	cfg := kafkaConfig(addr, group, []string{in}, out, 4, testLogger(t))
	cfg.Failure.OnFailure = runtime.DeadLetter
	cfg.Failure.DeadLetterTopic = "kgen-missing-dlq-" + in
	cfg.Flow.DrainTimeout = 2 * time.Second
	h := func(ctx context.Context, r *runtime.Record) ([]runtime.Output, error) {
		if string(r.Value) == "POISON" {
			return nil, fmt.Errorf("poison")
		}
		return passthrough(ctx, r)
	}
	stop := runInProcess(t, cfg, h)
	got := kafkatest.ReadAll(t, addr, out, len(sent)-1, 30*time.Second)
	time.Sleep(time.Second) // commits happen on a 200ms interval
	if err := stop(); err != nil {
		t.Logf("Run: %v", err)
	}
	if len(got) != len(sent)-1 {
		t.Fatalf("outputs %d, want %d: other keys must flow on", len(got), len(sent)-1)
	}
	offs := kafkatest.CommittedOffsets(t, addr, group, in)
	if offs[0] > 40 {
		t.Fatalf("committed offset %d passed the poison record at 40 whose dead letter was never written", offs[0])
	}
}

func TestKafkaManualAssignmentResumes(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 2)
	group := "g-" + in
	first := keyedMessages(300, 30, "a")
	kafkatest.Produce(t, addr, in, first)
	cfg := kafkaConfig(addr, group, nil, out, 4, testLogger(t))
	cfg.Inbound[0].Config.(*consumer.Config).Assignments = []consumer.PartitionAssignment{{Topic: in, Partition: 0}, {Topic: in, Partition: 1}}
	stop := runInProcess(t, cfg, passthrough)
	got := kafkatest.ReadAll(t, addr, out, len(first), 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(first) {
		t.Fatalf("first run: %d outputs, want %d", len(got), len(first))
	}
	if c := committedTotal(t, addr, group, in); c != int64(len(first)) {
		t.Fatalf("committed %d after the first run, want %d", c, len(first))
	}
	second := keyedMessages(200, 20, "b")
	kafkatest.Produce(t, addr, in, second)
	stop = runInProcess(t, cfg, passthrough)
	all := kafkatest.ReadAll(t, addr, out, len(first)+len(second), 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if dups := verify(t, append(first, second...), all); dups != 0 {
		t.Fatalf("%d duplicates: the restart did not resume from the committed offsets", dups)
	}
}

// TestKafkaManyWorkersOnePartition shows that workers are not capped by
// the partition count: on one partition with 200 keys, 8 workers run 8
// handlers at once (checked from the handler's own concurrency, not from
// timings, which a shared machine makes noisy). The wall-clock ratio is
// logged; `make bench` measures it properly.
func TestKafkaManyWorkersOnePartition(t *testing.T) {
	addr := kafkatest.Broker(t)
	const n = 400
	elapsed := map[int]time.Duration{}
	peaks := map[int]int32{}
	for _, workers := range []int{1, 8} {
		in, out := kafkatest.Topic(t, addr, 1), kafkatest.Topic(t, addr, 1)
		sent := keyedMessages(n, 200, "")
		kafkatest.Produce(t, addr, in, sent)
		var running, peak atomic.Int32
		slow := func(ctx context.Context, r *runtime.Record) ([]runtime.Output, error) {
			now := running.Add(1)
			for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			return passthrough(ctx, r)
		}
		start := time.Now()
		stop := runInProcess(t, kafkaConfig(addr, "g-"+in, []string{in}, out, workers, testLogger(t)), slow)
		got := kafkatest.ReadAll(t, addr, out, n, 60*time.Second)
		elapsed[workers] = time.Since(start)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		verify(t, sent, got) // nothing lost, order per key intact
		peaks[workers] = peak.Load()
	}
	t.Logf("1 worker %v, 8 workers %v: %.1fx faster; peak concurrency %d and %d",
		elapsed[1], elapsed[8], float64(elapsed[1])/float64(elapsed[8]), peaks[1], peaks[8])
	if peaks[1] != 1 {
		t.Fatalf("1 worker ran %d handlers at once", peaks[1])
	}
	if peaks[8] != 8 {
		t.Fatalf("8 workers on one partition ran at most %d handlers at once, want 8", peaks[8])
	}
}

// waitCommitted waits until the group committed n offsets in total on
// topic: every record finished and its outputs acknowledged.
func waitCommitted(t *testing.T, addr, group, topic string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := committedTotal(t, addr, group, topic)
		if c >= int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s committed %d of %d offsets within %v", group, c, n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readEverything reads every record the topic holds right now.
func readEverything(t *testing.T, addr, topic string) []kafka.Message {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second, Transport: tr}
	meta, err := client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(meta.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range meta.Topics[0].Partitions {
		req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p.ID))
	}
	resp, err := client.ListOffsets(context.Background(), req)
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	var total int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("list offsets of %s/%d: %v", topic, p.Partition, p.Error)
		}
		total += p.LastOffset
	}
	got := kafkatest.ReadAll(t, addr, topic, int(total), 60*time.Second)
	if len(got) != int(total) {
		t.Fatalf("read %d of the %d records in %s", len(got), total, topic)
	}
	return got
}

// ---- out-of-process tests: kill -9, SIGTERM, two members ----

var (
	procOnce sync.Once
	procBin  string
	procErr  error
)

func testproc(t *testing.T) string {
	procOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kgen-testproc")
		if err != nil {
			procErr = err
			return
		}
		procBin = filepath.Join(dir, "testproc")
		out, err := exec.Command("go", "build", "-o", procBin, "github.com/kgen-dev/kgen/internal/testproc").CombinedOutput()
		if err != nil {
			procErr = fmt.Errorf("building testproc: %v\n%s", err, out)
		}
	})
	if procErr != nil {
		t.Fatal(procErr)
	}
	return procBin
}

type proc struct {
	cmd *exec.Cmd
	log *bytes.Buffer
	w   *syncWriter
}

func startProc(t *testing.T, args ...string) *proc {
	p := &proc{cmd: exec.Command(testproc(t), args...), log: &bytes.Buffer{}}
	p.w = &syncWriter{w: p.log}
	p.cmd.Stderr = p.w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("processor log:\n%s", p.logText())
		}
	})
	return p
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// waitLog waits until the processor logged text (e.g. that it owns
// partitions, so its signal handlers are in place).
func (p *proc) waitLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.logText(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("processor did not log %q within 60s", text)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) logText() string {
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	return p.log.String()
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("processor did not exit within 30s of %v", sig)
		return nil
	}
}

// waitProgress waits until the output topic holds at least n records.
func waitProgress(t *testing.T, addr, topic string, n int) {
	t.Helper()
	got := kafkatest.ReadAll(t, addr, topic, n, 60*time.Second)
	if len(got) < n {
		t.Fatalf("only %d outputs before the interruption, want %d", len(got), n)
	}
}

func procArgs(addr, group, in, out string, extra ...string) []string {
	return append([]string{"-brokers", addr, "-group", group, "-topics", in, "-out", out,
		"-workers", "8", "-commit-interval", "200ms", "-sleep", "100us"}, extra...)
}

// interruptAndResume runs a processor over 20k keyed records, stops it with
// sig once 3000 outputs are out (checking that work was really left), runs
// a second one until everything is committed, and returns the duplicates
// in the output (having checked that nothing was lost) and, after SIGTERM,
// the records the first run's final report said the next run repeats
// (abandoned plus finished but uncommitted).
func interruptAndResume(t *testing.T, sig syscall.Signal, firstArgs ...string) (dups int, repeats int64) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 4), kafkatest.Topic(t, addr, 4)
	sent := keyedMessages(20_000, 500, "")
	kafkatest.Produce(t, addr, in, sent)
	group := "g-" + in
	p := startProc(t, procArgs(addr, group, in, out, append([]string{"-sleep", "1ms"}, firstArgs...)...)...)
	waitProgress(t, addr, out, 3000)
	if slices.Contains(firstArgs, "-hang") {
		p.waitLog(t, "record hangs until the hard stop")
	}
	if err := p.signal(t, sig); err != nil && sig != syscall.SIGKILL {
		t.Fatalf("%v: processor exited with %v, want 0", sig, err)
	}
	if sig != syscall.SIGKILL {
		repeats = reportedRepeats(t, p.logText())
	}
	if c := committedTotal(t, addr, group, in); c >= int64(len(sent)) {
		t.Fatalf("the first run finished all %d records before %v: nothing was interrupted", c, sig)
	}
	p2 := startProc(t, procArgs(addr, group, in, out, "-sleep", "1ms")...)
	p2.waitLog(t, "partitions assigned")
	waitCommitted(t, addr, group, in, len(sent), 90*time.Second)
	if err := p2.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("second run exited with %v", err)
	}
	return verify(t, sent, readEverything(t, addr, out)), repeats
}

// finalReportRE matches the runtime's final report (see finalReport in
// run.go): "stopped cleanly", "stopped on an error" or "stopped with N
// abandoned", each with abandoned=N and finished_uncommitted=M attributes.
var finalReportRE = regexp.MustCompile(`(?m)^.* msg="stopped .* component=runtime .* abandoned=(\d+) finished_uncommitted=(\d+) .*$`)

// reportedRepeats returns what the processor's final report in log says
// the next run will process again: the records it abandoned plus the
// finished ones behind them in their partitions. It fails the test when
// the report is missing. The report and the drain warnings are logged for
// the test's output either way.
func reportedRepeats(t *testing.T, log string) int64 {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "abandon") || strings.Contains(line, "final offset commit") ||
			strings.Contains(line, "flush cut short") {
			t.Logf("first run: %s", line)
		}
	}
	m := finalReportRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the processor logged no final report (msg=\"stopped ...\" component=runtime ... abandoned=N finished_uncommitted=M)")
	}
	var n int64
	for _, v := range m[1:] {
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("final report: %q: %v", v, err)
		}
		n += i
	}
	return n
}

func TestKafkaKillNineLosesNothing(t *testing.T) {
	dups, _ := interruptAndResume(t, syscall.SIGKILL)
	t.Logf("kill -9: %d duplicates of 20000 records", dups)
	// Duplicates are bounded by what was in flight or uncommitted at the
	// kill: the in-flight budget plus one commit interval of work.
	if dups > 10_000 {
		t.Fatalf("%d duplicates after kill -9, more than the in-flight bound", dups)
	}
}

// TestKafkaSigtermNoDuplicates: a graceful stop adds no duplicates, except
// when the drain gives up (drain_timeout ran out, e.g. on a loaded machine
// whose broker acknowledges slowly): the records still unfinished are
// abandoned, and the watermark stops at the first of them, so the
// finished records behind it in its partition are not committed either.
// The next run processes both again, and the final report announces both
// ("stopped with N records abandoned ...; as will M finished records after
// them"). So the test allows at most the N+M the first run reported, 0
// after "stopped cleanly": any duplicate the runtime did not announce
// fails it.
func TestKafkaSigtermNoDuplicates(t *testing.T) {
	// A small in-flight budget, so SIGTERM finds records not yet fetched.
	dups, repeats := interruptAndResume(t, syscall.SIGTERM, "-max-in-flight", "500")
	t.Logf("SIGTERM: %d duplicates of 20000 records; the first run announced %d to repeat", dups, repeats)
	if int64(dups) > repeats {
		t.Fatalf("%d duplicates after a graceful stop and restart, want at most the %d the first run reported abandoned or uncommitted",
			dups, repeats)
	}
}

// TestKafkaSigtermDrainCutShort: a record that never finishes makes the
// drain run out; it is abandoned, and the records of other keys finished
// behind it in its partition are not committed either. The next run
// repeats both, and the first run's final report must announce both.
func TestKafkaSigtermDrainCutShort(t *testing.T) {
	// k7's second record (the 508th produced) hangs until the hard stop.
	dups, repeats := interruptAndResume(t, syscall.SIGTERM, "-max-in-flight", "500",
		"-hang", "k7:00000001", "-drain", "200ms")
	t.Logf("SIGTERM, one record hanging: %d duplicates of 20000 records; the first run announced %d to repeat", dups, repeats)
	if repeats == 0 {
		t.Fatalf("the first run reported nothing abandoned: the hanging record was not reached before SIGTERM")
	}
	if int64(dups) > repeats {
		t.Fatalf("%d duplicates after a drain cut short, want at most the %d the first run reported abandoned or uncommitted",
			dups, repeats)
	}
}

func TestKafkaGroupMemberLeaves(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 6), kafkatest.Topic(t, addr, 6)
	sent := keyedMessages(30_000, 600, "")
	kafkatest.Produce(t, addr, in, sent)
	group := "g-" + in
	a := startProc(t, procArgs(addr, group, in, out, "-sleep", "200us")...)
	b := startProc(t, procArgs(addr, group, in, out, "-sleep", "200us")...)
	waitProgress(t, addr, out, 5000)
	if err := a.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("member a exited with %v", err)
	}
	waitCommitted(t, addr, group, in, len(sent), 120*time.Second)
	if err := b.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("member b exited with %v", err)
	}
	got := readEverything(t, addr, out)
	dups := verify(t, sent, got)
	t.Logf("member left mid-stream: %d duplicates of %d", dups, len(sent))
	if !strings.Contains(b.logText(), "partitions assigned") {
		t.Fatalf("member b never logged an assignment")
	}
}

func TestKafkaToPerWorkerFiles(t *testing.T) {
	addr := kafkatest.Broker(t)
	in := kafkatest.Topic(t, addr, 3)
	sent := keyedMessages(5000, 100, "")
	kafkatest.Produce(t, addr, in, sent)
	dir := t.TempDir()
	group := "g-" + in
	p := startProc(t, "-brokers", addr, "-group", group, "-topics", in, "-file", filepath.Join(dir, "out{}.log"),
		"-workers", "4", "-commit-interval", "200ms")
	waitCommitted(t, addr, group, in, len(sent), 60*time.Second)
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("processor exited with %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out*.log"))
	if len(files) < 2 {
		t.Fatalf("per-worker files: %v, want one per busy worker", files)
	}
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	sort.Strings(lines)
	if len(lines) != len(sent) {
		t.Fatalf("%d lines on disk, want exactly %d", len(lines), len(sent))
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] == lines[i-1] {
			t.Fatalf("line %q on disk twice", lines[i])
		}
	}
}

func TestKafkaPanickingHandlerLosesNothing(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 2)
	sent := keyedMessages(1000, 50, "")
	kafkatest.Produce(t, addr, in, sent)
	p := startProc(t, procArgs(addr, "g-"+in, in, out, "-panic-first-try", "7")...)
	got := kafkatest.ReadAll(t, addr, out, len(sent), 60*time.Second)
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("processor exited with %v", err)
	}
	verify(t, sent, got)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue finds "name{labels} value" or "name value" in a scrape.
func metricValue(scrape, series string) (float64, bool) {
	for _, line := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			if _, err := fmt.Sscanf(line[len(series)+1:], "%g", &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

func TestKafkaMetricsAndHealth(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 2)
	sent := keyedMessages(2000, 40, "")
	kafkatest.Produce(t, addr, in, sent)
	cfg := kafkaConfig(addr, "g-"+in, []string{in}, out, 4, testLogger(t))
	cfg.MetricsAddr = freeAddr(t)
	base := "http://" + cfg.MetricsAddr
	stop := runInProcess(t, cfg, passthrough)
	defer stop()
	waitCommitted(t, addr, "g-"+in, in, len(sent), 60*time.Second)
	if code, body := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s", code, body)
	}
	_, scrape := httpGet(t, base+"/metrics")
	for series, want := range map[string]float64{
		"kgen_records_consumed_total":               2000,
		"kgen_records_processed_total":              2000,
		`kgen_outbound_records_total{client="out"}`: 2000,
		"kgen_assigned_partitions":                  2,
		"kgen_records_failed_total":                 0,
		"kgen_in_flight_records":                    0,
		`kgen_rebalances_total{source="in"}`:        1,
		fmt.Sprintf(`kgen_consumer_lag_records{partition="0",source="in",topic="%s"}`, in): 0,
	} {
		got, ok := metricValue(scrape, series)
		if !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v", series, got, ok, want)
		}
	}
	var committed float64
	for p := 0; p < 2; p++ {
		v, _ := metricValue(scrape, fmt.Sprintf(`kgen_committed_offset{partition="%d",source="in",topic="%s"}`, p, in))
		committed += v
	}
	if committed != 2000 {
		t.Errorf("kgen_committed_offset sums to %v, want 2000", committed)
	}
	for _, name := range []string{"kgen_processing_seconds_count", "kgen_build_info", "kgen_oldest_in_flight_seconds"} {
		if !strings.Contains(scrape, name) {
			t.Errorf("scrape lacks %s", name)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", scrape)
	}
}

// secondBrokerPort is the second broker's port (its controller's is one
// more); clear of the single broker (9092), the chaos cluster (19092-)
// and the ephemeral port range (32768-), where a local connection can hold
// it.
const secondBrokerPort = 29092

// secondBroker starts another broker on its own ports (for an outbound
// cluster that can go away) and returns its address and pid.
func secondBroker(t *testing.T) (string, int) {
	data := filepath.Join(os.TempDir(), fmt.Sprintf("kgen-kafka-%d", secondBrokerPort))
	env := append(os.Environ(), fmt.Sprintf("KAFKA_PORT=%d", secondBrokerPort),
		fmt.Sprintf("KAFKA_CONTROLLER_PORT=%d", secondBrokerPort+1), "KGEN_KAFKA_DATA="+data)
	script := filepath.Join("..", "..", "scripts", "kafka.sh")
	up := exec.Command("bash", script, "up")
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("second broker: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command("bash", script, "down")
		down.Env = env
		_ = down.Run()
	})
	raw, err := os.ReadFile(filepath.Join(data, "kafka.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscanf(strings.TrimSpace(string(raw)), "%d", &pid)
	return fmt.Sprintf("127.0.0.1:%d", secondBrokerPort), pid
}

func waitHTTP(t *testing.T, url string, code int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, body := httpGet(t, url)
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %d (%s), want %d within %v", url, got, strings.TrimSpace(body), code, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKafkaOutboundBrokerAwayAndBack(t *testing.T) {
	addr := kafkatest.Broker(t)
	addr2, pid := secondBroker(t)
	in, out := kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr2, 2)
	group := "g-" + in
	cfg := kafkaConfig(addr, group, []string{in}, out, 4, testLogger(t))
	pc := cfg.Outbound[0].Config.(*producer.Config)
	pc.Brokers = []string{addr2}
	pc.AckTimeout, pc.RequestTimeout, pc.MaxAttempts = 2*time.Second, 2*time.Second, 2
	cfg.Failure.MaxBackoff = 500 * time.Millisecond
	cfg.MetricsAddr = freeAddr(t)
	base := "http://" + cfg.MetricsAddr
	stop := runInProcess(t, cfg, passthrough)
	defer stop()

	first := keyedMessages(1000, 50, "a")
	kafkatest.Produce(t, addr, in, first)
	waitCommitted(t, addr, group, in, len(first), 60*time.Second)
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)

	// The outbound broker freezes: connections hang, writes time out.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	second := keyedMessages(1000, 50, "b")
	kafkatest.Produce(t, addr, in, second)
	waitHTTP(t, base+"/readyz", 503, 60*time.Second)
	if c := committedTotal(t, addr, group, in); c >= int64(len(first)+len(second)) {
		t.Fatalf("committed %d while the outbound broker was away: offsets passed unacknowledged outputs", c)
	}

	// It comes back: the processor reconnects, readiness recovers,
	// nothing is lost.
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true
	waitCommitted(t, addr, group, in, len(first)+len(second), 120*time.Second)
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := readEverything(t, addr2, out)
	dups := verify(t, append(first, second...), got)
	t.Logf("outbound broker away and back: %d duplicates of %d", dups, len(first)+len(second))
}

func TestKafkaTwoInboundTwoOutboundRouting(t *testing.T) {
	addr := kafkatest.Broker(t)
	orders, payments, enriched := kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 2), kafkatest.Topic(t, addr, 2)
	dir := t.TempDir()
	cfg := kafkaConfig(addr, "g-"+orders, []string{orders}, enriched, 4, testLogger(t))
	second := cfg.Inbound[0]
	kc := *second.Config.(*consumer.Config)
	kc.Topics, kc.GroupID = []string{payments}, "g-"+payments
	second.ID, second.Config = "payments", &kc
	cfg.Inbound[0].ID = "orders"
	cfg.Inbound = append(cfg.Inbound, second)
	cfg.Outbound[0].ID = "enriched"
	cfg.Outbound = append(cfg.Outbound, runtime.OutboundConfig{ID: "audit", Name: filewriter.Name,
		Config: &filewriter.Config{Path: filepath.Join(dir, "audit.log"), Append: true, Framing: "lines"}})

	// Orders go to Kafka, payments to the audit file, and records marked
	// "both" fan out to every outbound client.
	route := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
		o := runtime.Output{Key: r.Key, Value: r.Value, Headers: r.Headers}
		switch {
		case bytes.HasSuffix(r.Value, []byte("both")):
		case r.Source == "orders":
			o.To = []string{"enriched"}
		default:
			o.To = []string{"audit"}
		}
		return []runtime.Output{o}, nil
	}
	o := keyedMessages(500, 20, "o")
	p := keyedMessages(300, 20, "p")
	o[7].Value = append(o[7].Value, []byte(":both")...)
	kafkatest.Produce(t, addr, orders, o)
	kafkatest.Produce(t, addr, payments, p)
	stop := runInProcess(t, cfg, route)
	waitCommitted(t, addr, "g-"+orders, orders, len(o), 60*time.Second)
	waitCommitted(t, addr, "g-"+payments, payments, len(p), 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	kafkaOut := readEverything(t, addr, enriched)
	if len(kafkaOut) != len(o) {
		t.Fatalf("enriched topic has %d records, want the %d orders", len(kafkaOut), len(o))
	}
	for _, m := range kafkaOut {
		if !bytes.HasPrefix(m.Key, []byte("o")) {
			t.Fatalf("payment %q routed to the enriched topic", m.Value)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(p)+1 {
		t.Fatalf("audit file has %d lines, want %d payments + 1 fanned-out order", len(lines), len(p))
	}
	if !strings.Contains(string(data), string(o[7].Value)) {
		t.Fatalf("the fan-out record is missing from the audit file")
	}
}

// TestKafkaInboundBrokerAwayAndBack freezes the broker the processor reads
// from for longer than a fetch may take: the fetchers time out, reconnect
// once it is back, and every record comes out; offsets resume where they
// were.
func TestKafkaInboundBrokerAwayAndBack(t *testing.T) {
	addr := kafkatest.Broker(t)
	addr2, pid := secondBroker(t)
	in, out := kafkatest.Topic(t, addr2, 3), kafkatest.Topic(t, addr, 3)
	group := "g-" + in
	cfg := kafkaConfig(addr2, group, []string{in}, out, 4, testLogger(t))
	cfg.Inbound[0].Config.(*consumer.Config).PollTimeout = time.Second
	cfg.Outbound[0].Config.(*producer.Config).Brokers = []string{addr}
	stop := runInProcess(t, cfg, passthrough)
	defer stop()

	first := keyedMessages(1000, 50, "a")
	kafkatest.Produce(t, addr2, in, first)
	waitCommitted(t, addr2, group, in, len(first), 60*time.Second)

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // several fetch deadlines
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	second := keyedMessages(1000, 50, "b")
	kafkatest.Produce(t, addr2, in, second)
	waitCommitted(t, addr2, group, in, len(first)+len(second), 120*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := readEverything(t, addr, out)
	dups := verify(t, append(first, second...), got)
	t.Logf("inbound broker away and back: %d duplicates of %d", dups, len(first)+len(second))
}

// TestKafkaSourceReadsWhatTheSinkWrites: records written by the producer
// with every codec, null and empty keys and values, and headers (some with
// null values) are read back by the fetcher exactly.
func TestKafkaSourceReadsWhatTheSinkWrites(t *testing.T) {
	addr := kafkatest.Broker(t)
	log := testLogger(t)
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			in := kafkatest.Topic(t, addr, 2)
			sink, err := producer.NewSink(producer.Config{Brokers: []string{addr}, Topic: in,
				Acks: -1, Compression: codec, BatchSize: 100}, log)
			if err != nil {
				t.Fatal(err)
			}
			const n = 1000
			want := map[string]runtime.Record{}
			msgs := make([]runtime.Message, n)
			done := make(chan error, n)
			for i := range msgs {
				m := runtime.Message{Value: fmt.Appendf(nil, "v%04d", i), Ack: ackFunc(func(err error) { done <- err })}
				switch i % 4 {
				case 0:
					m.Key = fmt.Appendf(nil, "k%d", i%13)
				case 1:
					m.Key = []byte{}
				case 2:
					m.Key = fmt.Appendf(nil, "k%d", i%13)
					m.Headers = []runtime.Header{{Key: "a", Value: []byte("1")}, {Key: "nil", Value: nil}, {Key: "a", Value: []byte{}}}
				}
				msgs[i] = m
				want[string(m.Value)] = runtime.Record{Key: m.Key, Value: m.Value, Headers: m.Headers}
			}
			if err := sink.Write(context.Background(), msgs); err != nil {
				t.Fatal(err)
			}
			for range n {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			if err := sink.Close(context.Background()); err != nil {
				t.Fatal(err)
			}

			cfg := kafkaConfig(addr, "g-"+in, []string{in}, kafkatest.Topic(t, addr, 1), 2, log)
			got := make(chan runtime.Record, n)
			h := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
				got <- runtime.Record{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value), Headers: slices.Clone(r.Headers)}
				return nil, nil
			}
			stop := runInProcess(t, cfg, h)
			defer stop()
			timeout := time.After(60 * time.Second)
			for range n {
				select {
				case r := <-got:
					w, ok := want[string(r.Value)]
					if !ok {
						t.Fatalf("unexpected or repeated value %q", r.Value)
					}
					delete(want, string(r.Value))
					if (w.Key == nil) != (r.Key == nil) || !bytes.Equal(w.Key, r.Key) {
						t.Errorf("%s: key %q (nil %v), want %q (nil %v)", r.Value, r.Key, r.Key == nil, w.Key, w.Key == nil)
					}
					if len(w.Headers) != len(r.Headers) {
						t.Fatalf("%s: headers %v, want %v", r.Value, r.Headers, w.Headers)
					}
					for i, h := range r.Headers {
						if h.Key != w.Headers[i].Key || !bytes.Equal(h.Value, w.Headers[i].Value) ||
							(h.Value == nil) != (w.Headers[i].Value == nil) {
							t.Errorf("%s: header %d %q=%q, want %q=%q", r.Value, i, h.Key, h.Value, w.Headers[i].Key, w.Headers[i].Value)
						}
					}
				case <-timeout:
					t.Fatalf("%d records not read back", len(want))
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type ackFunc func(error)

func (f ackFunc) Done(err error) { f(err) }

// TestKafkaOutputsCarryEventTime: an output carries the inbound record's
// timestamp (one produced days ago comes out with it, not stamped with the
// time of writing), and a Timestamp the handler sets wins.
func TestKafkaOutputsCarryEventTime(t *testing.T) {
	addr := kafkatest.Broker(t)
	in, out := kafkatest.Topic(t, addr, 1), kafkatest.Topic(t, addr, 1)
	// Days old but inside the topic's retention, so the broker keeps it.
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	set := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	kafkatest.Produce(t, addr, in, []kafka.Message{
		{Key: []byte("a"), Value: []byte("carry"), Time: old},
		{Key: []byte("a"), Value: []byte("set"), Time: old},
	})
	h := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
		o := runtime.Output{Key: r.Key, Value: r.Value}
		if string(r.Value) == "set" {
			o.Timestamp = set
		}
		return []runtime.Output{o}, nil
	}
	stop := runInProcess(t, kafkaConfig(addr, "g-"+in, []string{in}, out, 2, testLogger(t)), h)
	got := kafkatest.ReadAll(t, addr, out, 2, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]time.Time{"carry": old, "set": set}
	if len(got) != 2 {
		t.Fatalf("outputs %d, want 2", len(got))
	}
	for _, m := range got {
		if w := want[string(m.Value)]; !m.Time.Equal(w) {
			t.Errorf("output %q has timestamp %v, want %v", m.Value, m.Time, w)
		}
	}
}
