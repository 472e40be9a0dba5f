package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// contender is one processor under test, run as its own process.
type contender struct {
	name  string // short id used in flags and file names
	label string // table label
	cmd   func(a args) ([]string, error)
	// file is whether it has a file output (W3).
	file bool
	// goProfile is whether it understands -cpuprofile.
	goProfile bool
}

// args are what one run passes to a contender.
type args struct {
	brokers, in, out, group, file string
	n                             int
	sleep                         time.Duration
	workers                       int
	extra                         []string
}

func goArgs(a args) []string {
	s := []string{"-brokers", a.brokers, "-in", a.in, "-group", a.group, "-n", strconv.Itoa(a.n)}
	if a.file != "" {
		s = append(s, "-file", a.file)
	} else {
		s = append(s, "-out", a.out)
	}
	if a.sleep > 0 {
		s = append(s, "-sleep", a.sleep.String())
	}
	if a.workers > 0 {
		s = append(s, "-workers", strconv.Itoa(a.workers))
	}
	return append(s, a.extra...)
}

// contenders lists every contender; gen builds the generated projects of
// the "kgen" contender when it runs first.
func contenders(binDir, python string, gen func() (*generatedProjects, error)) []contender {
	bin := func(name string) func(a args) ([]string, error) {
		return func(a args) ([]string, error) {
			return append([]string{filepath.Join(binDir, name)}, goArgs(a)...), nil
		}
	}
	return []contender{
		{name: "rawkafkago", label: "raw kafka-go", cmd: bin("rawkafkago"), file: true, goProfile: true},
		{name: "rawfranz", label: "raw franz-go", cmd: bin("rawfranz"), file: true, goProfile: true},
		{name: "rawfranzseed", label: "raw franz-go, seed's producer settings", cmd: func(a args) ([]string, error) {
			a.extra = append(a.extra, "-seed-producer")
			return bin("rawfranz")(a)
		}, goProfile: true},
		{name: "kgen", label: "kgen (generated, seed settings)", file: true, cmd: func(a args) ([]string, error) {
			g, err := gen()
			if err != nil {
				return nil, err
			}
			return g.argv(a)
		}},
		{name: "kgenpass", label: "kgen runtime.Run, hand-tuned", cmd: bin("kgenpass"), file: true, goProfile: true},
		{name: "kgenpassseed", label: "kgen runtime.Run, seed's producer settings", goProfile: true, cmd: func(a args) ([]string, error) {
			a.extra = append(a.extra, "-acks", "1", "-batch-bytes", "16384")
			return bin("kgenpass")(a)
		}},
		{name: "watermill", label: "Watermill", cmd: bin("watermill"), goProfile: true},
		{name: "python", label: "seed Python", file: true, cmd: func(a args) ([]string, error) {
			s := []string{python, "python/seed_processor.py", "--brokers", a.brokers, "--in", a.in,
				"--group", a.group, "--n", strconv.Itoa(a.n)}
			if a.file != "" {
				return append(s, "--file", a.file), nil
			}
			return append(s, "--out", a.out), nil
		}},
	}
}

// result is one run's measurements.
type result struct {
	workload, contender string
	rep                 int
	n                   int64         // records that came out
	bytes               int64         // value bytes per record × n
	wall                time.Duration // start to all n out (or to the cap)
	first               time.Duration // start to the first record out
	cpu                 time.Duration // user + system of the child
	maxRSS              int64         // bytes, from rusage
	rssMid, rssEnd      int64         // bytes, sampled from /proc (W6)
	capped              bool          // stopped at the time cap before n
	p50, p99            time.Duration // W5
	sendRate            float64       // W5
	err                 error
}

func (r result) rate() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.n) / r.wall.Seconds()
}

// steadyRate excludes the start-up (group join, connections): records
// after the first one, over the time after it.
func (r result) steadyRate() float64 {
	d := r.wall - r.first
	if d <= 0 || r.n < 2 || r.first == 0 {
		return 0
	}
	return float64(r.n-1) / d.Seconds()
}

// process is a running contender.
type process struct {
	cmd    *exec.Cmd
	start  time.Time
	stderr *bytes.Buffer
	exited chan struct{}
	rss    func() int64
	hwm    func() int64
}

func startProcess(argv []string, dir string) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &tailWriter{buf: &stderr, max: 8 << 10}
	cmd.Stdout = cmd.Stderr
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	p := &process{cmd: cmd, stderr: &stderr, exited: make(chan struct{})}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	p.rss = func() int64 { return procStatus(pid, "VmRSS:") }
	p.hwm = func() int64 { return procStatus(pid, "VmHWM:") }
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM, waits up to grace, then kills. It returns the
// child's CPU time and peak RSS, and an error if it failed.
//
// Peak RSS is the child's VmHWM read just before SIGTERM, not rusage's
// ru_maxrss: Linux carries the parent's high-water mark across fork+exec
// into ru_maxrss, so it would report at least the harness's own RSS.
func (p *process) stop(grace time.Duration) (cpu time.Duration, maxRSS int64, err error) {
	maxRSS = p.hwm()
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.exited
			err = fmt.Errorf("did not stop within %s of SIGTERM; killed", grace)
		}
	}
	st := p.cmd.ProcessState
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if maxRSS == 0 { // exited already: rusage is all there is
			maxRSS = ru.Maxrss << 10 // KiB on Linux
		}
	}
	if err == nil && !st.Success() {
		err = fmt.Errorf("exited with %s", st)
	}
	if err != nil {
		err = fmt.Errorf("%w; output:\n%s", err, indent(p.stderr.String()))
	}
	return cpu, maxRSS, err
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "    (none)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// procStatus reads a size field (VmRSS:, VmHWM:) of pid's status in
// bytes (0 when gone).
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// tailWriter keeps the last max bytes written.
type tailWriter struct {
	buf *bytes.Buffer
	max int
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if over := w.buf.Len() - w.max; over > 0 {
		w.buf.Next(over)
	}
	return len(p), nil
}

// watch polls count until it reaches n, the cap passes, the process exits,
// or ctx ends. It fills n/wall/first/capped of r.
func watch(ctx context.Context, p *process, r *result, n int64, limit time.Duration,
	count func(context.Context) (int64, error), w6 bool) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	half := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.exited:
			return errors.New("contender exited before finishing")
		case <-tick.C:
		}
		got, err := count(ctx)
		if err != nil {
			continue // transient; the cap bounds the wait
		}
		el := time.Since(p.start)
		if got > 0 && r.first == 0 {
			r.first = el
		}
		if w6 && !half && el >= limit/2 {
			half = true
			r.rssMid = p.rss()
		}
		if got >= n || el >= limit {
			r.n, r.wall, r.capped = got, el, got < n
			if w6 {
				r.rssEnd = p.rss()
			}
			return nil
		}
	}
}

// fileCount counts records in dir from the files' sizes: every record is
// size bytes plus a newline.
func fileCount(dir string, size int) func(context.Context) (int64, error) {
	return func(context.Context) (int64, error) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		var total int64
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
		return total / int64(size+1), nil
	}
}
