// Command kbench runs kgen's benchmark suite against a real broker: every
// workload for every contender, interleaved (one run of each contender per
// repetition), repeated, medians reported in a table, bench/RESULTS.md and
// bench/results.svg.
//
// Run it from bench/ (make bench, make bench-smoke). Each contender is its
// own process, so its CPU seconds and peak RSS come from its rusage. A run
// is complete when all n records are in the output (the output topic's end
// offsets, or the output files' sizes), which the harness watches itself:
// it holds for every contender, whatever its client says. The harness then
// sends SIGTERM and waits for a clean exit; a contender that fails, exits
// early or does not stop is an error, and kbench exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	brokers     string
	reps        int
	n           int
	workloads   []string
	contenders  []string
	timeout     time.Duration
	w4N         int
	w4Cap       time.Duration
	w5Seconds   time.Duration
	w5Rate      float64
	w6Duration  time.Duration
	w6Quota     float64
	w6Budget    int64
	profileDir  string
	resultsPath string
	svgPath     string
	python      string
}

var allWorkloads = []string{"w1", "w2", "w3", "w4", "w5", "w6"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, argv []string) error {
	var o options
	fs := flag.NewFlagSet("kbench", flag.ContinueOnError)
	var wl, cs string
	fs.StringVar(&o.brokers, "brokers", "127.0.0.1:9092", "bootstrap servers")
	fs.IntVar(&o.reps, "reps", 3, "repetitions (the median is reported)")
	fs.IntVar(&o.n, "n", 1_000_000, "records in W1, W2, W3 and W6's input")
	fs.StringVar(&wl, "workloads", strings.Join(allWorkloads, ","), "workloads to run")
	fs.StringVar(&cs, "contenders", "rawkafkago,rawfranz,rawfranzseed,kgen,kgenpass,kgenpassseed,watermill,python", "contenders to run")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "longest one run may take before it is an error")
	fs.IntVar(&o.w4N, "w4-n", 300_000, "records in W4 (slow handler)")
	fs.DurationVar(&o.w4Cap, "w4-cap", 20*time.Second, "W4 stops partition-ordered contenders after this (their rate is what came out)")
	fs.DurationVar(&o.w5Seconds, "w5-duration", 10*time.Second, "W5 timed send duration")
	fs.Float64Var(&o.w5Rate, "w5-rate", 0, "W5 send rate; 0 = half of each contender's W1 median (or 10000 without W1)")
	fs.DurationVar(&o.w6Duration, "w6-duration", 20*time.Second, "W6 run length")
	fs.Float64Var(&o.w6Quota, "w6-quota", 0, "W6 producer byte rate quota; 0 = 1/100 of raw kafka-go's W2 MB/s (or 1 MiB/s)")
	fs.Int64Var(&o.w6Budget, "w6-budget", 16<<20, "kgen's in-flight byte budget in W6")
	fs.StringVar(&o.profileDir, "profile", "", "write W1 CPU profiles of the Go contenders here")
	fs.StringVar(&o.resultsPath, "results", "RESULTS.md", "write the report here (empty: don't)")
	fs.StringVar(&o.svgPath, "svg", "results.svg", "write the chart here (empty: don't)")
	fs.StringVar(&o.python, "python", ".venv/bin/python", "Python with kafka-python (bench/setup.sh)")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	o.workloads = strings.Split(wl, ",")
	o.contenders = strings.Split(cs, ",")
	for _, w := range o.workloads {
		if !slices.Contains(allWorkloads, w) {
			return fmt.Errorf("unknown workload %q (want some of %s)", w, strings.Join(allWorkloads, ","))
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run kbench from bench/ (cd bench && go run ./cmd/kbench)")
	}
	binDir, err := filepath.Abs("bin")
	if err != nil {
		return err
	}
	var gen *generatedProjects
	genFn := func() (*generatedProjects, error) {
		if gen == nil {
			return nil, errors.New("the generated projects were not built")
		}
		return gen, nil
	}
	var cons []contender
	for _, c := range contenders(binDir, o.python, genFn) {
		if slices.Contains(o.contenders, c.name) {
			cons = append(cons, c)
		}
	}
	if len(cons) != len(o.contenders) {
		return fmt.Errorf("unknown contender in %q", cs)
	}
	if slices.Contains(o.contenders, "python") {
		if _, err := os.Stat(o.python); err != nil {
			return fmt.Errorf("python contender: %s missing: run bench/setup.sh first", o.python)
		}
	}
	fmt.Fprintln(os.Stderr, "kbench: building contenders into bin/")
	build := exec.CommandContext(ctx, "go", "build", "-o", binDir+"/",
		"./cmd/rawkafkago", "./cmd/rawfranz", "./cmd/kgenpass", "./cmd/watermill")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building contenders: %w", err)
	}
	if slices.Contains(o.contenders, "kgen") {
		fmt.Fprintln(os.Stderr, "kbench: kgen init + go build of the seed-settings projects into bin/")
		if gen, err = buildGenerated(ctx, binDir); err != nil {
			return err
		}
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}

	b, err := newBroker(strings.Split(o.brokers, ","))
	if err != nil {
		return err
	}
	defer b.close()
	s := &suite{o: o, b: b, cons: cons, inputs: map[string]string{}, start: time.Now()}
	s.machine = describe(ctx, b, o.python)
	defer s.cleanup()
	runErr := s.runAll(ctx)
	s.print(os.Stdout)
	if o.resultsPath != "" {
		if err := s.writeReport(argv); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if len(s.errs) > 0 {
		return fmt.Errorf("%d runs failed:\n%s", len(s.errs), strings.Join(s.errs, "\n"))
	}
	return nil
}
