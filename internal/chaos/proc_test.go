package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

var (
	repoRoot string // the kgen checkout
	procBin  string // the processor built from `kgen init` output
	setupErr error  // why the cluster or the processor is not there
	setupLog string // what starting the cluster printed
)

// TestMain starts the cluster (scripts/kafka.sh cluster-up, idempotent) and
// builds the processor once, unless -short. A lock file serialises chaos runs
// on one machine: they kill the same brokers.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(mainRun(m))
}

func mainRun(m *testing.M) int {
	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	if testing.Short() {
		return m.Run()
	}
	lock, err := os.OpenFile(fmt.Sprintf("/tmp/kgen-cluster-%d.chaos.lock", clusterBase()), os.O_CREATE|os.O_RDWR, 0o644)
	if err == nil {
		defer lock.Close()
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			fmt.Fprintln(os.Stderr, "chaos: another chaos run holds the cluster; waiting for it")
			_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		}
	}
	tmp, err := os.MkdirTemp("", "kgen-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	setupLog, setupErr = kafkaSh(ctx, "cluster-up")
	if setupErr == nil {
		procBin, setupErr = buildProcessor(ctx, tmp)
	}
	return m.Run()
}

// needCluster fails the test (or skips it, outside CI) when the cluster or
// the processor is missing, and skips it under -short.
func needCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("chaos tests need the three-node cluster; run them with make test-chaos")
	}
	if setupErr == nil {
		return
	}
	msg := fmt.Sprintf("chaos: no cluster or processor: %v (start the cluster with `make cluster-up`)", setupErr)
	if os.Getenv("CI") == "true" || os.Getenv("KGEN_REQUIRE_KAFKA") == "1" {
		t.Fatalf("%s [CI=true or KGEN_REQUIRE_KAFKA=1: a missing cluster is a failure]", msg)
	}
	t.Skipf("%s [skipping; CI=true or KGEN_REQUIRE_KAFKA=1 make this a failure]", msg)
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "cmd", "kgen")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("chaos: kgen's go.mod not found above the working directory")
		}
		dir = parent
	}
}

// processGo is the user's process.go of the processor under test: 1 ms of
// "work", then the record's key and value unchanged.
const processGo = `package main

import (
	"context"
	"time"

	"example.com/chaosproc/kgen"
)

// Process stands in for real work (1 ms) and forwards the key and value.
func Process(ctx context.Context, in kgen.Input) ([]kgen.Output, error) {
	time.Sleep(time.Millisecond)
	return in.Out(kgen.Output{Key: in.Key, Value: in.Value}), nil
}
`

// buildProcessor scaffolds the processor with `kgen init` from seed-format
// settings, puts in processGo and builds it; it returns the binary.
func buildProcessor(ctx context.Context, tmp string) (string, error) {
	settings := filepath.Join(tmp, "settings.json")
	cfg := procConfig{In: "chaos-in", Out: "chaos-out", DLQ: "chaos-dlq", Group: "chaos", MetricsAddr: "127.0.0.1:9464"}
	if err := os.WriteFile(settings, cfg.json(), 0o644); err != nil {
		return "", err
	}
	proj := filepath.Join(tmp, "chaosproc")
	run := func(dir string, name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(repoRoot, "go", "run", "./cmd/kgen", "init", "--settings", settings, "--out", proj,
		"--module", "example.com/chaosproc", "--kgen-source", repoRoot); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(proj, "process.go"), []byte(processGo), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "chaosproc-bin")
	if err := run(proj, "go", "build", "-o", bin, "."); err != nil {
		return "", err
	}
	return bin, nil
}

// procConfig is what changes between runs of the processor; the rest of
// its settings are what a careful user writes for a production cluster.
type procConfig struct {
	In, Out, DLQ, Group string
	Isolation           string // "" (read_uncommitted) or "read_committed"
	MetricsAddr         string
}

// json renders the settings in the seed's format (inbound_client_settings /
// outbound_client_settings): 8 workers, acks all, dead letters on failure.
func (c procConfig) json() []byte {
	consumer := map[string]any{
		"bootstrap_servers":       bootstrap(),
		"group_id":                c.Group,
		"enable_auto_commit":      false,
		"auto_offset_reset":       "earliest",
		"auto_commit_interval_ms": 1000,
		"session_timeout_ms":      10000,
		"heartbeat_interval_ms":   3000,
	}
	if c.Isolation != "" {
		consumer["isolation_level"] = c.Isolation
	}
	s := map[string]any{
		"num_of_workers": 8,
		"inbound_client_settings": map[string]any{
			"name": "kafka_consumer",
			"config": map[string]any{
				"topics":        []string{c.In},
				"max_retries":   5,
				"close_timeout": 20,
				"client_config": consumer,
			},
		},
		"outbound_client_settings": map[string]any{
			"name": "kafka_producer",
			"config": map[string]any{
				"topic":         c.Out,
				"close_timeout": 20,
				"client_config": map[string]any{
					"bootstrap_servers":  bootstrap(),
					"acks":               "all",
					"retries":            5,
					"linger_ms":          5,
					"request_timeout_ms": 6000,
				},
			},
		},
		"processing": map[string]any{"on_failure": "dead_letter", "dead_letter_topic": c.DLQ},
		"metrics":    map[string]any{"address": c.MetricsAddr},
		"logging":    map[string]any{"level": "info", "format": "text"},
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // only maps of strings, numbers and bools
	}
	return b
}

// proc is one running processor, a child process.
type proc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	addr    string // metrics address
	logPath string
	exited  chan struct{}
	code    int // exit status, once exited is closed

	mu       sync.Mutex
	notReady map[string]int // /readyz bodies while not ready, and how often
	stopPoll context.CancelFunc
	polled   chan struct{}
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProc runs the processor with cfg (its MetricsAddr is set here) and
// polls its /readyz until it exits. It is killed when the test ends.
func startProc(t *testing.T, name string, cfg procConfig) *proc {
	t.Helper()
	cfg.MetricsAddr = freeAddr(t)
	dir := t.TempDir()
	settings := filepath.Join(dir, name+".json")
	if err := os.WriteFile(settings, cfg.json(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, addr: cfg.MetricsAddr, logPath: filepath.Join(dir, name+".log"),
		exited: make(chan struct{}), notReady: map[string]int{}, polled: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(procBin, "--settings", settings)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		logf.Close()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal())
			}
		} else if err != nil {
			p.code = -1
		}
		close(p.exited)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	p.stopPoll = cancel
	go p.poll(ctx)
	t.Cleanup(func() {
		if p.alive() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		p.stopPoll()
		<-p.polled
		if lines := p.grep(0, "level=WARN", "level=ERROR"); len(lines) > 0 {
			shown := lines[:min(len(lines), 20)]
			for i, l := range shown {
				if len(l) > 400 {
					shown[i] = l[:400] + "…"
				}
			}
			t.Logf("%s: %d WARN/ERROR lines in its log, the first %d:\n%s", p.name, len(lines), len(shown), strings.Join(shown, "\n"))
		}
		if t.Failed() {
			t.Logf("%s: last lines of its log:\n%s", p.name, p.tail(15))
		}
	})
	t.Logf("%s: started pid %d (metrics %s, log %s)", name, p.cmd.Process.Pid, p.addr, p.logPath)
	return p
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

func (p *proc) get(path string) (int, string, error) {
	res, err := httpClient.Get("http://" + p.addr + path)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// poll records every distinct /readyz answer given while not ready.
func (p *proc) poll(ctx context.Context) {
	defer close(p.polled)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
			return
		case <-time.After(200 * time.Millisecond):
		}
		code, body, err := p.get("/readyz")
		if err != nil || code == http.StatusOK {
			continue
		}
		body = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(body), "not ready:"))
		p.mu.Lock()
		if len(p.notReady) < 50 {
			p.notReady[body]++
		}
		p.mu.Unlock()
	}
}

// reasons returns the distinct not-ready answers, most frequent first.
func (p *proc) reasons() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for r := range p.notReady {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return p.notReady[out[i]] > p.notReady[out[j]] })
	for i, r := range out {
		out[i] = fmt.Sprintf("%q ×%d", r, p.notReady[r])
	}
	return out
}

// metric sums the samples of a metric family from /metrics.
func (p *proc) metric(name string) (float64, error) {
	code, body, err := p.get("/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("/metrics: status %d", code)
	}
	sum, found := 0.0, false
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			sum += v
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("/metrics has no %s", name)
	}
	return sum, nil
}

// died returns an error describing the processor's exit, nil while alive.
func (p *proc) died() error {
	if p.alive() {
		return nil
	}
	return fmt.Errorf("processor %s died (exit status %d); last lines of its log:\n%s", p.name, p.code, p.tail(30))
}

// waitReady waits until /readyz answers 200.
func (p *proc) waitReady(ctx context.Context) error {
	var last string
	for {
		if err := p.died(); err != nil {
			return err
		}
		code, body, err := p.get("/readyz")
		if err == nil && code == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("status %d %q %v", code, strings.TrimSpace(body), err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("processor %s not ready: %s (%v)", p.name, last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// term sends SIGTERM and waits for the exit; it returns the exit status.
func (p *proc) term(ctx context.Context) (int, error) {
	if err := p.died(); err != nil {
		return p.code, err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.code, nil
	case <-ctx.Done():
		return -1, fmt.Errorf("processor %s did not exit after SIGTERM (%v); last lines of its log:\n%s", p.name, ctx.Err(), p.tail(30))
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// tail returns the last n lines of the processor's log.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// grep returns the processor's log lines containing any of subs (at most
// n; 0: all).
func (p *proc) grep(n int, subs ...string) []string {
	b, _ := os.ReadFile(p.logPath)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
		if n > 0 && len(out) == n {
			break
		}
	}
	return out
}

// feeder writes the input: keyed records "KEY:SEQ[:PAD]", each key's
// sequence numbers in order. A batch that fails is written again before
// anything later, so each key's inputs stay in order (a retried write may
// duplicate inputs; the verifier tells those apart).
type feeder struct {
	w    *kafka.Writer
	tr   *kafka.Transport
	pad  string
	mu   sync.Mutex
	keys []string
	next map[string]int
	n    int // records made so far
	// partition, when set, routes each key to a fixed partition.
	partition map[string]int
}

func newFeeder(topic string, keys []string, pad int) *feeder {
	f := &feeder{keys: keys, next: map[string]int{}, pad: strings.Repeat("x", pad)}
	f.tr = &kafka.Transport{DialTimeout: 3 * time.Second, MetadataTTL: time.Second}
	f.w = &kafka.Writer{
		Addr:            kafka.TCP(brokers()...),
		Topic:           topic,
		Transport:       f.tr,
		Balancer:        f,
		RequiredAcks:    kafka.RequireAll,
		BatchSize:       1000,
		BatchTimeout:    2 * time.Millisecond,
		MaxAttempts:     5,
		WriteBackoffMax: time.Second,
		WriteTimeout:    10 * time.Second,
	}
	return f
}

func (f *feeder) close() {
	f.w.Close()
	f.tr.CloseIdleConnections()
}

var hash = &kafka.Murmur2Balancer{}

// Balance implements kafka.Balancer: the fixed partition of a key when one
// is set, murmur2 of the key otherwise.
func (f *feeder) Balance(msg kafka.Message, partitions ...int) int {
	f.mu.Lock()
	p, ok := f.partition[string(msg.Key)]
	f.mu.Unlock()
	if ok {
		return p
	}
	return hash.Balance(msg, partitions...)
}

// addKeys adds keys (routed to partition[key] when given).
func (f *feeder) addKeys(keys []string, partition map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, keys...)
	if partition != nil && f.partition == nil {
		f.partition = map[string]int{}
	}
	for k, p := range partition {
		f.partition[k] = p
	}
}

// batch returns the next n records, round robin over the keys.
func (f *feeder) batch(n int) []kafka.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]kafka.Message, n)
	for i := range out {
		k := f.keys[f.n%len(f.keys)]
		f.n++
		v := k + ":" + strconv.Itoa(f.next[k])
		if f.pad != "" {
			v += ":" + f.pad
		}
		f.next[k]++
		out[i] = kafka.Message{Key: []byte(k), Value: []byte(v)}
	}
	return out
}

// produce writes n records, at most rate per second (0: unpaced).
func (f *feeder) produce(ctx context.Context, n, rate int) error {
	const chunk = 500
	start := time.Now()
	for done := 0; done < n; {
		c := min(chunk, n-done)
		msgs := f.batch(c)
		for len(msgs) > 0 {
			err := f.w.WriteMessages(ctx, msgs...)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("producing the input: %w", err)
			}
			var we kafka.WriteErrors
			if errors.As(err, &we) {
				var again []kafka.Message
				for i, e := range we {
					if e != nil {
						again = append(again, msgs[i])
					}
				}
				msgs = again
			}
			time.Sleep(200 * time.Millisecond)
		}
		done += c
		if rate > 0 {
			if ahead := time.Duration(done)*time.Second/time.Duration(rate) - time.Since(start); ahead > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(ahead):
				}
			}
		}
	}
	return nil
}

// keyNames returns n key names with prefix.
func keyNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
