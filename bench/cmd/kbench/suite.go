package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// suite is one invocation: its options, broker, results and errors.
type suite struct {
	o       options
	b       *broker
	cons    []contender
	inputs  map[string]string // "n/size/partitions/keys" → preloaded topic
	results []result
	errs    []string
	machine machine
	start   time.Time
	quota   float64 // W6's producer byte rate, once set
	// sleepCeiling holds W4's reference runs: 256 goroutines doing nothing
	// but 5 ms sleeps, the most any processor can reach on this machine.
	sleepCeiling []float64
}

// workload describes one of W1..W6.
type workload struct {
	id, title  string
	n, size    int
	partitions int
	keys       int
	file       bool
}

func (s *suite) cleanup() {
	if s.quota > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = s.b.setProducerQuota(ctx, 0)
		cancel()
	}
	var topics []string
	for _, t := range s.inputs {
		topics = append(topics, t)
	}
	s.b.deleteTopics(topics...)
}

func (s *suite) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "kbench %6.1fs: %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, a...))
}

func (s *suite) fail(r result) {
	msg := fmt.Sprintf("%s %s rep %d: %v", r.workload, r.contender, r.rep, r.err)
	s.errs = append(s.errs, msg)
	s.logf("ERROR %s", msg)
}

// input returns a preloaded topic for the shape, producing it once.
func (s *suite) input(ctx context.Context, n, size, partitions, keys int) (string, error) {
	k := fmt.Sprintf("%d/%d/%d/%d", n, size, partitions, keys)
	if t, ok := s.inputs[k]; ok {
		return t, nil
	}
	t := uniqueName(fmt.Sprintf("kbench-in-%d-%d", size, partitions))
	if err := s.b.createTopic(ctx, t, partitions); err != nil {
		return "", err
	}
	s.inputs[k] = t
	s.logf("preloading %s: %d × %d B, %d partitions, %d keys", t, n, size, partitions, keys)
	start := time.Now()
	if err := preload(ctx, s.b.addrs, t, n, size, keys); err != nil {
		return "", fmt.Errorf("preloading %s: %w", t, err)
	}
	if got, err := s.b.endOffsets(ctx, t); err != nil || got != int64(n) {
		return "", fmt.Errorf("preloading %s: %d records in the topic, want %d (%v)", t, got, n, err)
	}
	s.logf("preloaded in %.1fs", time.Since(start).Seconds())
	return t, nil
}

func (s *suite) has(w string) bool {
	for _, x := range s.o.workloads {
		if x == w {
			return true
		}
	}
	return false
}

func (s *suite) runAll(ctx context.Context) error {
	// W6 changes the broker's quotas: run it last, and never leave it set.
	if err := s.b.setProducerQuota(ctx, 0); err != nil {
		s.logf("clearing producer quota: %v", err)
	}
	shapes := []workload{
		{id: "w1", title: "W1 kafka→kafka, 100 B", n: s.o.n, size: 100, partitions: 6, keys: 10_000},
		{id: "w2", title: "W2 kafka→kafka, 1 KiB", n: s.o.n, size: 1024, partitions: 6, keys: 10_000},
		{id: "w3", title: "W3 kafka→file, 100 B", n: s.o.n, size: 100, partitions: 6, keys: 10_000, file: true},
	}
	for _, w := range shapes {
		if !s.has(w.id) {
			continue
		}
		if err := s.throughput(ctx, w); err != nil {
			return err
		}
	}
	if s.has("w4") {
		if err := s.slowHandler(ctx); err != nil {
			return err
		}
	}
	if s.has("w5") {
		if err := s.latency(ctx); err != nil {
			return err
		}
	}
	if s.has("w6") {
		if err := s.slowSink(ctx); err != nil {
			return err
		}
	}
	return nil
}

// one runs contender c once on input in and returns its result. count
// watches the output; limit caps the run (capped = not an error when
// allowCap).
func (s *suite) one(ctx context.Context, w workload, c contender, rep int, a args,
	limit time.Duration, allowCap bool) result {
	r := result{workload: w.id, contender: c.name, rep: rep}
	var count func(context.Context) (int64, error)
	if w.file {
		dir, err := os.MkdirTemp("", "kbench-file-")
		if err != nil {
			r.err = err
			return r
		}
		defer os.RemoveAll(dir)
		a.file = filepath.Join(dir, "out-{}.txt")
		count = fileCount(dir, w.size)
	} else {
		a.out = uniqueName("kbench-out-" + w.id + "-" + c.name)
		if err := s.b.createTopic(ctx, a.out, w.partitions); err != nil {
			r.err = err
			return r
		}
		defer s.b.deleteTopics(a.out)
		count = func(ctx context.Context) (int64, error) { return s.b.endOffsets(ctx, a.out) }
	}
	a.brokers = s.o.brokers
	a.group = uniqueName("kbench-" + w.id + "-" + c.name)
	a.n = w.n
	defer s.b.deleteGroup(a.group)
	argv, err := c.cmd(a)
	if err != nil {
		r.err = err
		return r
	}
	p, err := startProcess(argv, ".")
	if err != nil {
		r.err = err
		return r
	}
	target := int64(w.n)
	if w.id == "w6" {
		target = 1 << 62 // fixed duration: broker quotas allow a first burst
	}
	werr := watch(ctx, p, &r, target, limit, count, w.id == "w6")
	cpu, rss, perr := p.stop(30 * time.Second)
	r.cpu, r.maxRSS = cpu, rss
	r.bytes = r.n * int64(w.size)
	switch {
	case werr != nil:
		r.err = fmt.Errorf("%w (%d of %d records out); %v", werr, r.n, w.n, perr)
	case perr != nil:
		r.err = perr
	case r.capped && !allowCap:
		r.err = fmt.Errorf("only %d of %d records out after %s", r.n, w.n, limit)
	}
	return r
}

func (s *suite) record(r result) {
	s.results = append(s.results, r)
	if r.err != nil {
		s.fail(r)
		return
	}
	extra := ""
	if r.p99 > 0 {
		extra = fmt.Sprintf(", p50 %s p99 %s", r.p50.Round(time.Microsecond*100), r.p99.Round(time.Microsecond*100))
	}
	if r.rssEnd > 0 {
		extra += fmt.Sprintf(", RSS mid %.0f MiB end %.0f MiB", mib(r.rssMid), mib(r.rssEnd))
	}
	s.logf("%s %-10s rep %d: %d rec in %.2fs = %.0f rec/s (first out %.2fs), cpu %.2fs, rss %.0f MiB%s",
		r.workload, r.contender, r.rep, r.n, r.wall.Seconds(), r.rate(), r.first.Seconds(),
		r.cpu.Seconds(), mib(r.maxRSS), extra)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// throughput runs W1, W2 or W3: drain a preloaded topic.
func (s *suite) throughput(ctx context.Context, w workload) error {
	in, err := s.input(ctx, w.n, w.size, w.partitions, w.keys)
	if err != nil {
		return err
	}
	for rep := 1; rep <= s.o.reps; rep++ {
		for _, c := range s.cons {
			if w.file && !c.file {
				continue
			}
			a := args{in: in}
			if s.o.profileDir != "" && (w.id == "w1" || w.id == "w3") && c.goProfile {
				a.extra = []string{"-cpuprofile", filepath.Join(s.o.profileDir,
					fmt.Sprintf("%s-%s-%d.pprof", w.id, c.name, rep))}
			}
			s.record(s.one(ctx, w, c, rep, a, s.o.timeout, false))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// slowHandler runs W4: 5 ms per record, 10k keys, 4 partitions; kgen with
// 256 workers against its ideal (256 / 5 ms) and the partition-ordered raw
// kafka-go loop for contrast (capped: its rate is what came out).
func (s *suite) slowHandler(ctx context.Context) error {
	w := workload{id: "w4", title: "W4 slow handler", n: s.o.w4N, size: 100, partitions: 4, keys: 10_000}
	in, err := s.input(ctx, w.n, w.size, w.partitions, w.keys)
	if err != nil {
		return err
	}
	for rep := 1; rep <= s.o.reps; rep++ {
		s.sleepCeiling = append(s.sleepCeiling, sleepRate(256, w.n, 5*time.Millisecond))
		for _, c := range s.cons {
			a := args{in: in, sleep: 5 * time.Millisecond}
			limit := s.o.timeout
			switch c.name {
			case "kgen", "kgenpass":
				a.workers = 256
			case "rawkafkago":
				limit = s.o.w4Cap
			default:
				continue
			}
			s.record(s.one(ctx, w, c, rep, a, limit, c.name == "rawkafkago"))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// latency runs W5: each contender gets a fresh input topic fed at a fixed
// rate (half its own W1 median); the probe measures send→output latency.
func (s *suite) latency(ctx context.Context) error {
	w := workload{id: "w5", title: "W5 latency", size: 100, partitions: 6, keys: 10_000}
	for rep := 1; rep <= s.o.reps; rep++ {
		for _, c := range s.cons {
			rate := s.o.w5Rate
			if rate <= 0 {
				if m, ok := s.median("w1", c.name); ok {
					rate = m.rate / 2
				} else {
					rate = 10_000
				}
			}
			r := result{workload: w.id, contender: c.name, rep: rep}
			in := uniqueName("kbench-in-w5-" + c.name)
			out := uniqueName("kbench-out-w5-" + c.name)
			err := s.b.createTopic(ctx, in, w.partitions)
			if err == nil {
				err = s.b.createTopic(ctx, out, w.partitions)
			}
			if err != nil {
				return err
			}
			group := uniqueName("kbench-w5-" + c.name)
			argv, err := c.cmd(args{brokers: s.o.brokers, in: in, out: out, group: group})
			if err != nil {
				return err
			}
			p, err := startProcess(argv, ".")
			if err != nil {
				return err
			}
			probe := &latencyProbe{addrs: s.b.addrs, in: in, out: out, size: w.size}
			start := time.Now()
			lat, lerr := probe.run(ctx, rate, s.o.w5Seconds, p.exited)
			r.wall = time.Since(start)
			r.cpu, r.maxRSS, err = p.stop(30 * time.Second)
			r.n = int64(len(lat))
			r.bytes = r.n * int64(w.size)
			r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
			r.sendRate = rate
			if lerr != nil {
				r.err = lerr
			} else if err != nil {
				r.err = err
			}
			s.record(r)
			s.b.deleteTopics(in, out)
			s.b.deleteGroup(group)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// slowSink runs W6: the W2 input drained into an output throttled by a
// broker producer quota to 1/100 of the raw loop's W2 rate; each contender
// runs for a fixed time and its RSS is sampled mid-way and at the end.
func (s *suite) slowSink(ctx context.Context) error {
	w := workload{id: "w6", title: "W6 slow sink", n: s.o.n, size: 1024, partitions: 6, keys: 10_000}
	in, err := s.input(ctx, w.n, w.size, w.partitions, w.keys)
	if err != nil {
		return err
	}
	q := s.o.w6Quota
	if q <= 0 {
		q = 1 << 20
		if m, ok := s.median("w2", "rawkafkago"); ok {
			q = m.rate * 1024 / 100
		}
	}
	s.logf("W6: producer quota %.0f B/s for every client id", q)
	if err := s.b.setProducerQuota(ctx, q); err != nil {
		return fmt.Errorf("setting the W6 producer quota: %w", err)
	}
	s.quota = q
	time.Sleep(time.Second) // quota propagation
	for rep := 1; rep <= s.o.reps; rep++ {
		for _, c := range s.cons {
			a := args{in: in}
			if c.name == "kgenpass" {
				a.extra = []string{"-max-inflight-bytes", fmt.Sprint(s.o.w6Budget)}
			}
			s.record(s.one(ctx, w, c, rep, a, s.o.w6Duration, true))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	err = s.b.setProducerQuota(ctx, 0)
	if err == nil {
		s.quota = 0
	}
	return err
}

// summary is the median of a contender's successful runs of a workload,
// each figure's median taken on its own.
type summary struct {
	runs, failed   int
	rate, steady   float64
	mbps           float64
	cpuPerM        float64 // CPU seconds per million records
	rss            int64
	rssMid, rssEnd int64
	p50, p99       time.Duration
	sendRate       float64
	capped         bool
}

func (s *suite) median(workload, c string) (summary, bool) {
	var rs []result
	sm := summary{}
	for _, r := range s.results {
		if r.workload != workload || r.contender != c {
			continue
		}
		if r.err != nil {
			sm.failed++
			continue
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return sm, false
	}
	sm.runs = len(rs)
	f := func(get func(r result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	sm.rate = f(func(r result) float64 { return r.rate() })
	sm.steady = f(func(r result) float64 { return r.steadyRate() })
	sm.mbps = f(func(r result) float64 { return float64(r.bytes) / r.wall.Seconds() / 1e6 })
	sm.cpuPerM = f(func(r result) float64 { return r.cpu.Seconds() / float64(max(r.n, 1)) * 1e6 })
	sm.rss = int64(f(func(r result) float64 { return float64(r.maxRSS) }))
	sm.rssMid = int64(f(func(r result) float64 { return float64(r.rssMid) }))
	sm.rssEnd = int64(f(func(r result) float64 { return float64(r.rssEnd) }))
	sm.p50 = time.Duration(f(func(r result) float64 { return float64(r.p50) }))
	sm.p99 = time.Duration(f(func(r result) float64 { return float64(r.p99) }))
	sm.sendRate = f(func(r result) float64 { return r.sendRate })
	for _, r := range rs {
		sm.capped = sm.capped || r.capped
	}
	return sm, true
}

func joinNames(cs []contender) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.name)
	}
	return strings.Join(s, ",")
}

// sleepRate measures what W4's ideal really allows here: workers
// goroutines sleeping d per record for n records, no Kafka, no engine.
// time.Sleep overshoots by scheduling and timer slack, so this is below
// workers/d.
func sleepRate(workers, n int, d time.Duration) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				time.Sleep(d)
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}
