package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// machine is the description printed with the results.
type machine struct {
	nproc       int
	cpu, mem    string
	goVersion   string
	broker      string
	kafkaPython string
	kernel      string
	date        string
}

func describe(ctx context.Context, b *broker, python string) machine {
	m := machine{nproc: runtime.NumCPU(), date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(string(out), &m.nproc)
	}
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(ci), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if mi, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, l := range strings.Split(string(mi), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				fmt.Sscan(v, &kb)
			}
		}
		m.mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(python, "-c", "import kafka,sys; print('kafka-python', kafka.__version__, 'on Python', sys.version.split()[0])").Output(); err == nil {
		m.kafkaPython = strings.TrimSpace(string(out))
	}
	m.broker = "Apache Kafka " + strings.TrimPrefix(b.version(ctx), "v") + " (guessed from its API versions), single node on 127.0.0.1, same machine"
	return m
}

var titles = map[string]string{
	"w1": "W1: kafka→kafka, 100 B records, 6 partitions",
	"w2": "W2: kafka→kafka, 1 KiB records, 6 partitions",
	"w3": "W3: kafka→file, 100 B records, 6 partitions",
	"w4": "W4: slow handler, 5 ms/record, 10k keys, 4 partitions (kgen: 256 workers; ideal 51,200 rec/s)",
	"w5": "W5: end-to-end latency at half each contender's W1 median rate",
	"w6": "W6: slow sink (producer quota = 1/100 of the raw kafka-go W2 rate), fixed duration",
}

func ratio(v, base float64) string {
	if base <= 0 || v <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// table returns a workload's rows: header first.
func (s *suite) table(w string) [][]string {
	kgo, _ := s.median(w, "rawkafkago")
	franz, _ := s.median(w, "rawfranz")
	var rows [][]string
	switch w {
	case "w4":
		rows = append(rows, []string{"contender", "records/s", "vs ideal", "steady rec/s", "steady vs ideal",
			"CPU s/M rec", "peak RSS", "runs"})
	case "w5":
		rows = append(rows, []string{"contender", "send rate", "p50", "p99", "p99 vs kafka-go", "p99 vs franz-go",
			"CPU s/M rec", "peak RSS", "runs"})
	case "w6":
		rows = append(rows, []string{"contender", "records/s out", "peak RSS", "RSS mid-run", "RSS at end",
			"RSS vs kafka-go", "runs"})
	default:
		rows = append(rows, []string{"contender", "records/s", "vs kafka-go", "vs franz-go", "MB/s",
			"steady rec/s", "CPU s/M rec", "CPU vs kafka-go", "CPU vs franz-go", "peak RSS", "runs"})
	}
	for _, c := range s.cons {
		m, ok := s.median(w, c.name)
		if !ok && m.failed == 0 {
			continue
		}
		runs := fmt.Sprintf("%d", m.runs)
		if m.failed > 0 {
			runs += fmt.Sprintf(" (%d failed)", m.failed)
		}
		if m.capped {
			runs += " capped"
		}
		if !ok {
			rows = append(rows, []string{c.label, "failed", "", "", "", "", "", "", "", "", runs}[:len(rows[0])])
			continue
		}
		rss := fmt.Sprintf("%.0f MiB", mib(m.rss))
		switch w {
		case "w4":
			ideal := 256 / 0.005
			rows = append(rows, []string{c.label, fmtRate(m.rate), ratio(m.rate, ideal), fmtRate(m.steady),
				ratio(m.steady, ideal), fmt.Sprintf("%.1f", m.cpuPerM), rss, runs})
		case "w5":
			rows = append(rows, []string{c.label, fmtRate(m.sendRate) + "/s", ms(m.p50), ms(m.p99),
				ratio(float64(m.p99), float64(kgo.p99)), ratio(float64(m.p99), float64(franz.p99)),
				fmt.Sprintf("%.1f", m.cpuPerM), rss, runs})
		case "w6":
			rows = append(rows, []string{c.label, fmtRate(m.rate), rss, fmt.Sprintf("%.0f MiB", mib(m.rssMid)),
				fmt.Sprintf("%.0f MiB", mib(m.rssEnd)), ratio(float64(m.rss), float64(kgo.rss)), runs})
		default:
			rows = append(rows, []string{c.label, fmtRate(m.rate), ratio(m.rate, kgo.rate), ratio(m.rate, franz.rate),
				fmt.Sprintf("%.1f", m.mbps), fmtRate(m.steady), fmt.Sprintf("%.2f", m.cpuPerM),
				ratio(m.cpuPerM, kgo.cpuPerM), ratio(m.cpuPerM, franz.cpuPerM), rss, runs})
		}
	}
	return rows
}

func (s *suite) print(out io.Writer) {
	for _, w := range s.o.workloads {
		rows := s.table(w)
		if len(rows) < 2 {
			continue
		}
		fmt.Fprintf(out, "\n%s\n", titles[w])
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
		}
		_ = tw.Flush()
		if w == "w4" {
			fmt.Fprintln(out, s.ceilingNote())
		}
	}
	if len(s.errs) > 0 {
		fmt.Fprintf(out, "\n%d runs failed:\n%s\n", len(s.errs), strings.Join(s.errs, "\n"))
	}
}

func (s *suite) writeReport(argv []string) error {
	var b bytes.Buffer
	m := s.machine
	fmt.Fprintf(&b, "# kgen benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `kbench` (bench/cmd/kbench); do not edit by hand. Command, from the repository root:\n\n")
	fmt.Fprintf(&b, "```\ncd bench && go run ./cmd/kbench %s\n```\n\n", strings.Join(argv, " "))
	fmt.Fprintf(&b, "## Machine\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n| nproc | %d |\n| CPU | %s |\n| memory | %s |\n| kernel | %s |\n| Go | %s |\n| broker | %s |\n| Python client | %s |\n\n",
		m.date, m.nproc, m.cpu, m.mem, m.kernel, m.goVersion, m.broker, orNone(m.kafkaPython))
	fmt.Fprintf(&b, "## Method\n\n")
	fmt.Fprintf(&b, `- Every contender is its own process; CPU seconds (user + system) come from the child's rusage,
  peak RSS from its VmHWM just before SIGTERM (rusage's maxrss inherits the harness's own RSS
  across fork+exec on Linux). Runs are interleaved: each repetition runs every contender once, in the order
  %s; %d repetition(s); each figure is the median of the successful runs, taken on its own.
- Inputs are preloaded once per workload by a franz-go producer and shared; each run gets a fresh
  consumer group and a fresh output topic (or directory), deleted afterwards.
- Completion is watched by the harness, not reported by the contender: the output topic's summed
  end offsets (or the output files' sizes) reach n. records/s = n / (process start → all n out),
  start-up (group join) included; "steady" leaves out the time to the first output record.
- "kgen (generated, seed settings)" is what a user runs: a project from `+"`kgen init`"+` on the seed README's
  sample settings (%s, %s), built with `+"`go build`"+`, run with `+"`--settings`"+`; its Process is the
  generated stub. Changes to the sample: %s.
- "kgen runtime.Run, hand-tuned" (cmd/kgenpass) calls the runtime directly: 4 workers, acks all (so
  the idempotent producer, up to 5 requests in flight per partition), 1 MiB batches, linger 5 ms,
  MaxWait 200 ms, commits every second. "kgen runtime.Run, seed's producer settings" is the same program
  with the two producer options of the seed's sample that set its speed: acks 1 (so not idempotent, one
  request in flight per partition) and batch_size 16384; it shows what the generated project's gap to
  the hand-tuned one is made of.
- Other producers use acks=all. Raw kafka-go: BatchSize 1000, BatchTimeout 5 ms, murmur2 by key;
  franz-go: linger 5 ms, its defaults otherwise (acks all, idempotent, 1 MB batches); "raw franz-go, seed's
  producer settings": the seed's as a kafka-python user carries them over (acks 1, batch_size 16384,
  linger 5 ms, 5 requests in flight, not idempotent); Watermill: Sarama sync publisher;
  Python: kafka-python producer with the seed's settings (batch_size 16384, linger_ms 5).
- The Python contender polls kafka-python's default 500 records per call (the seed's sample says
  max_records 1, which would be far slower), sends each value, flushes, commits; 3 threads.
- Records carry keys from a space of 10,000; values are random printable bytes (no compression).

`, joinNames(s.cons), s.o.reps, seedKafkaSample, seedFileSample, generatedSettingsNote())
	if s.o.svgPath != "" {
		fmt.Fprintf(&b, "![records per second by workload and contender](%s)\n\n", s.o.svgPath)
	}
	for _, w := range s.o.workloads {
		rows := s.table(w)
		if len(rows) < 2 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", titles[w])
		for i, r := range rows {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
			if i == 0 {
				fmt.Fprintf(&b, "|%s\n", strings.Repeat("---|", len(r)))
			}
		}
		b.WriteString("\n")
		if w == "w4" {
			b.WriteString(s.ceilingNote() + "\n\n")
		}
		if w == "w6" {
			fmt.Fprintf(&b, "Quota: %.0f B/s per client id; kgen's in-flight budget: %d MiB (-max-inflight-bytes).\n\n",
				s.lastQuota(), s.o.w6Budget>>20)
		}
	}
	if len(s.errs) > 0 {
		fmt.Fprintf(&b, "## Failed runs\n\n```\n%s\n```\n", strings.Join(s.errs, "\n"))
	}
	if err := os.WriteFile(s.o.resultsPath, b.Bytes(), 0o644); err != nil {
		return err
	}
	if s.o.svgPath != "" {
		return os.WriteFile(s.o.svgPath, s.svg(), 0o644)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "not installed"
	}
	return s
}

func (s *suite) lastQuota() float64 {
	if s.o.w6Quota > 0 {
		return s.o.w6Quota
	}
	if m, ok := s.median("w2", "rawkafkago"); ok {
		return m.rate * 1024 / 100
	}
	return 1 << 20
}

var colors = map[string]string{
	"rawkafkago": "#4e79a7", "rawfranz": "#59a14f", "rawfranzseed": "#8cd17d", "kgen": "#e15759", "kgenpass": "#ff9d9a", "kgenpassseed": "#d4a6c8", "watermill": "#f28e2b", "python": "#b07aa1",
}

// svg draws one panel of horizontal bars (records/s) per throughput
// workload, each bar labelled with its value and its ratio to raw kafka-go.
func (s *suite) svg() []byte {
	type bar struct {
		label, color string
		v, base      float64
	}
	type panel struct {
		title string
		bars  []bar
	}
	var panels []panel
	for _, w := range []string{"w1", "w2", "w3", "w4"} {
		if !s.has(w) {
			continue
		}
		p := panel{title: titles[w]}
		kgo, _ := s.median(w, "rawkafkago")
		for _, c := range s.cons {
			if m, ok := s.median(w, c.name); ok {
				p.bars = append(p.bars, bar{label: c.label, color: colors[c.name], v: m.rate, base: kgo.rate})
			}
		}
		if w == "w4" && len(p.bars) > 0 {
			p.bars = append(p.bars, bar{label: "ideal (256 / 5 ms)", color: "#bab0ac", v: 51200, base: kgo.rate})
		}
		if len(p.bars) > 0 {
			panels = append(panels, p)
		}
	}
	const (
		width, left, right = 900, 170, 170
		barH, gap, head    = 22, 6, 34
	)
	height := 40
	for _, p := range panels {
		height += head + len(p.bars)*(barH+gap) + 14
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="24" font-size="16" font-weight="bold">Records per second (median of %d; higher is better)</text>`+"\n", s.o.reps)
	y := 40
	for _, p := range panels {
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+20, html.EscapeString(p.title))
		y += head
		top := 0.0
		for _, br := range p.bars {
			top = max(top, br.v)
		}
		for _, br := range p.bars {
			w := 0.0
			if top > 0 {
				w = br.v / top * float64(width-left-right)
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+16, html.EscapeString(br.label))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, max(w, 1), barH, br.color)
			lbl := fmtRate(br.v) + "/s"
			if br.base > 0 {
				lbl += "  (" + ratio(br.v, br.base) + " kafka-go)"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(left)+max(w, 1)+6, y+16, html.EscapeString(lbl))
			y += barH + gap
		}
		y += 14
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// ceilingNote compares kgen's W4 rate with the measured sleep ceiling.
func (s *suite) ceilingNote() string {
	if len(s.sleepCeiling) == 0 {
		return ""
	}
	c := append([]float64(nil), s.sleepCeiling...)
	sort.Float64s(c)
	ceiling := c[len(c)/2]
	note := fmt.Sprintf("Reference, measured in the same run: 256 goroutines doing only 5 ms sleeps reach %s rec/s (%s of the nominal ideal) on this machine.",
		fmtRate(ceiling), ratio(ceiling, 256/0.005))
	if m, ok := s.median("w4", "kgen"); ok {
		note += fmt.Sprintf(" kgen: %s of that ceiling overall, %s steady.", ratio(m.rate, ceiling), ratio(m.steady, ceiling))
	}
	return note
}
