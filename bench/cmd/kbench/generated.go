package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The "kgen" contender is what a user runs: a project scaffolded by
// `kgen init` from the seed's own sample settings, built with `go build`,
// run with `--settings FILE`. Each run writes FILE from the sample with only
// the names a run must own substituted (seedChanges lists them); the speed
// has to come from kgen's defaults and from the options the sample writes.
//
// Process is the generated stub (forwards key, value and headers). W4 needs
// a slow handler: a second project whose process.go sleeps, as a user would
// write it.

// seedSamples are the seed README's sample settings, verbatim, as the
// generator's golden tests keep them.
const (
	seedKafkaSample = "testdata/golden/seed_kafka/settings.json"
	seedFileSample  = "testdata/golden/seed_file_writer/settings.json"
)

// seedChanges is what the harness changes in the seed's sample settings,
// shown in the report.
const seedChanges = "bootstrap_servers, topics, group_id, the output topic (or file path) substituted per run; " +
	"W4 only: num_of_workers 256 and a Process that sleeps 5 ms. Nothing else: acks 1, batch_size 16384, " +
	"linger_ms 5, max_records 1, 3 workers, ... as the seed's README writes them"

// generatedProjects are the built projects' binaries and sample settings.
type generatedProjects struct {
	kafka, file, slow string // binaries
	runDir            string // per-run settings files
}

// slowProcess is W4's process.go: the stub plus a 5 ms sleep.
const slowProcess = `package main

import (
	"context"
	"time"

	"kbench.example/slow/kgen"
)

// Process forwards each record unchanged after 5 ms of "work".
func Process(ctx context.Context, in kgen.Input) ([]kgen.Output, error) {
	time.Sleep(5 * time.Millisecond)
	return in.Out(kgen.Output{Key: in.Key, Value: in.Value, Headers: in.Headers}), nil
}
`

// buildGenerated builds bin/kgen from the checkout above bench/, scaffolds
// the projects with it and builds them into binDir.
func buildGenerated(ctx context.Context, binDir string) (*generatedProjects, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	kgen := filepath.Join(binDir, "kgen")
	if err := runIn(ctx, root, "go", "build", "-o", kgen, "./cmd/kgen"); err != nil {
		return nil, fmt.Errorf("building kgen: %w", err)
	}
	g := &generatedProjects{runDir: filepath.Join(binDir, "gen-runs")}
	if err := os.MkdirAll(g.runDir, 0o755); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		name, sample, process string
		bin                   *string
	}{
		{"seedkafka", seedKafkaSample, "", &g.kafka},
		{"seedfile", seedFileSample, "", &g.file},
		{"slow", seedKafkaSample, slowProcess, &g.slow},
	} {
		dir := filepath.Join(binDir, "gen-"+p.name)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := runIn(ctx, root, kgen, "init", "--settings", filepath.Join(root, p.sample), "--out", dir,
			"--module", "kbench.example/"+p.name, "--kgen-source", root); err != nil {
			return nil, fmt.Errorf("kgen init %s: %w", p.name, err)
		}
		if p.process != "" {
			if err := os.WriteFile(filepath.Join(dir, "process.go"), []byte(p.process), 0o644); err != nil {
				return nil, err
			}
		}
		*p.bin = filepath.Join(binDir, "gen-"+p.name+".bin")
		if err := runIn(ctx, dir, "go", "build", "-o", *p.bin, "."); err != nil {
			return nil, fmt.Errorf("building the %s project: %w", p.name, err)
		}
	}
	return g, nil
}

func runIn(ctx context.Context, dir, name string, arg ...string) error {
	cmd := exec.CommandContext(ctx, name, arg...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// argv writes the run's settings and returns the command line.
func (g *generatedProjects) argv(a args) ([]string, error) {
	bin, sample := g.kafka, seedKafkaSample
	switch {
	case a.file != "":
		bin, sample = g.file, seedFileSample
	case a.sleep > 0:
		bin = g.slow
	}
	raw, err := os.ReadFile(filepath.Join("..", sample))
	if err != nil {
		return nil, err
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", sample, err)
	}
	in := s["inbound_client_settings"].(map[string]any)["config"].(map[string]any)
	in["topics"] = []string{a.in}
	icc := in["client_config"].(map[string]any)
	icc["bootstrap_servers"] = a.brokers
	icc["group_id"] = a.group
	out := s["outbound_client_settings"].(map[string]any)["config"].(map[string]any)
	if a.file != "" {
		out["file"] = a.file
	} else {
		out["topic"] = a.out
		out["client_config"].(map[string]any)["bootstrap_servers"] = a.brokers
	}
	if a.workers > 0 {
		s["num_of_workers"] = a.workers
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(g.runDir, "settings-*.json")
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return []string{bin, "--settings", f.Name()}, nil
}

// label of the generated contender in reports.
func generatedSettingsNote() string {
	return strings.TrimSpace(seedChanges)
}
