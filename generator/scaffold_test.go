package generator

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkout is this kgen source checkout, which scaffolded projects point
// their go.mod at.
func checkout(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// scaffold writes the golden case name as a project in a new temp dir.
func scaffold(t *testing.T, name string) string {
	t.Helper()
	fs, _ := renderCase(t, name, checkout(t))
	dir := filepath.Join(t.TempDir(), name)
	if _, err := WriteNew(dir, fs, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goCmd runs the go command in dir offline (GOPROXY=off) with no GOFLAGS
// from the environment, as a fresh machine would, and fails t on error.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := goRun(dir, args...)
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

func goRun(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestScaffoldBuilds scaffolds every golden case and builds, vets and
// tests it offline: process_test.go must pass out of the box.
func TestScaffoldBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds projects")
	}
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := scaffold(t, name)
			start := time.Now()
			goCmd(t, dir, "build", "./...")
			goCmd(t, dir, "vet", "./...")
			goCmd(t, dir, "test", "./...")
			t.Logf("build, vet and test: %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// snapshot reads every file under dir, by slash path relative to dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGenerateFlow is the life of a project: scaffold, edit process.go,
// switch the outbound client from kafka_producer to file_writer, run go
// generate: the project still builds, and only kgen/ changed.
func TestGenerateFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	dir := scaffold(t, "seed_kafka")
	proc := filepath.Join(dir, "process.go")
	f, err := os.OpenFile(proc, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n// My change: kgen must keep it.\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sfile := filepath.Join(dir, SettingsFile)
	data, err := os.ReadFile(sfile)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), `"outbound_client_settings"`)
	if i < 0 {
		t.Fatal("no outbound_client_settings in the seed settings")
	}
	changed := string(data[:i]) + `"outbound_client_settings": {"name": "file_writer", "config": {"file": "/tmp/kgen-flow-{}.log", "mode": "ab", "encoding": null}}
}
`
	if err := os.WriteFile(sfile, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	// The binary built before regeneration refuses the new settings.
	bin := filepath.Join(t.TempDir(), "processor")
	goCmd(t, dir, "build", "-o", bin, ".")
	out, err := exec.Command(bin, "--settings", sfile).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "settings changed since code generation: run go generate (first difference at /outbound/0/name)") {
		t.Errorf("old binary with new settings: exit %d, output:\n%s", code, out)
	}

	goCmd(t, dir, "generate", "./...")

	after := snapshot(t, dir)
	for p, b := range before {
		if IsOwned(p) {
			continue
		}
		if a, ok := after[p]; !ok || string(a) != string(b) {
			t.Errorf("%s: changed by go generate; only %s/ may change", p, OwnedDir)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && !IsOwned(p) {
			t.Errorf("%s: created by go generate outside %s/", p, OwnedDir)
		}
	}
	if !strings.Contains(string(after["kgen/config_gen.go"]), "filewriter.Config") {
		t.Errorf("kgen/config_gen.go does not configure the file writer after regeneration")
	}
	goCmd(t, dir, "build", "./...")
	goCmd(t, dir, "tool", "kgen", "generate", "--check")
}

func exitCode(err error) int {
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return xe.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestGoGenerateWithBrokenProcess runs go generate while process.go does not
// compile: generation never compiles the user's code, so it succeeds, and
// process.go is left as it was.
func TestGoGenerateWithBrokenProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go generate")
	}
	dir := scaffold(t, "seed_kafka")
	broken := "package main\n\n<<<<<<< HEAD\nfunc Process( {\n"
	writeFile(t, filepath.Join(dir, "process.go"), broken)
	changeWorkers(t, dir)
	goCmd(t, dir, "generate", "./...")
	if got := readFile(t, filepath.Join(dir, "process.go")); got != broken {
		t.Error("go generate changed process.go")
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "kgen", "config_gen.go")), "Workers: 7") {
		t.Error("kgen/config_gen.go was not regenerated")
	}
	if _, err := goRun(dir, "build", "./..."); err == nil {
		t.Error("the project builds with a broken process.go: the test breaks nothing")
	}
}

// TestRawInputDecodeFailure: in a project with a typed JSON payload, a
// test case gives raw bytes (Input.RawValue) that do not decode; the
// record takes the failure policy's path (here, dead letters) and the
// error it carries names the JSON pointer and the JSON types, not Go's.
func TestRawInputDecodeFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	dir := scaffold(t, "json_payload")
	test := `package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"example.com/json_payload/kgen"
	"github.com/kgen-dev/kgen/runtime"
)

const badID = ` + "`" + `{"id": "7", "name": "n", "address": {"city": "c"}}` + "`" + `

func deadLetterConfig() kgen.Config {
	cfg := kgen.TestConfig()
	cfg.Failure.OnFailure = runtime.DeadLetter
	cfg.Failure.DeadLetterTopic = "users-dlq"
	return cfg
}

func TestUndecodableValue(t *testing.T) {
	cfg := deadLetterConfig()
	kgen.Case{
		Name: "a value that does not decode is a dead letter",
		In: []kgen.Input{
			{Key: []byte("bad"), RawValue: []byte(badID)},
			{Key: []byte("good"), Value: kgen.InValue{ID: 1, Name: "n"}},
		},
		Want: map[string][]kgen.Output{
			kgen.OutboundID: {{Key: []byte("good"), Value: kgen.InValue{ID: 1, Name: "n"}}},
		},
		WantDeadLetters: 1,
		WantCommitted:   map[string]int64{"users/0": 2},
		Config:          &cfg,
	}.Check(t, Process)

	res, err := kgen.RunMemory(context.Background(), cfg, Process, kgen.Input{RawValue: []byte(badID)})
	if err != nil || len(res.DeadLetters) != 1 {
		t.Fatalf("err %v, %d dead letters", err, len(res.DeadLetters))
	}
	hdr := map[string]string{}
	for _, h := range res.DeadLetters[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if got, want := hdr[runtime.HeaderError], "decode value: /id: want integer, got string"; got != want {
		t.Errorf("error header %q, want %q", got, want)
	}
	// A decode error is permanent: no retry.
	if got := hdr[runtime.HeaderAttempts]; got != "1" {
		t.Errorf("%s = %q, want 1 (a decode error is not retried)", runtime.HeaderAttempts, got)
	}
}

// TestPermanent: kgen.Permanent skips the retries; a plain error is
// retried max_retries times first.
func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(error) error
		want int64
	}{
		{"plain", func(err error) error { return err }, 4},
		{"permanent", kgen.Permanent, 1},
		{"wrapped permanent", func(err error) error { return fmt.Errorf("parse: %w", kgen.Permanent(err)) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := deadLetterConfig()
			cfg.InboundMaxRetries = 3
			var runs atomic.Int64
			p := func(ctx context.Context, in kgen.Input) ([]kgen.Output, error) {
				runs.Add(1)
				return nil, tc.wrap(errors.New("bad record"))
			}
			res, err := kgen.RunMemory(context.Background(), cfg, p, kgen.Input{Value: kgen.InValue{ID: 1}})
			if err != nil || len(res.DeadLetters) != 1 {
				t.Fatalf("err %v, %d dead letters", err, len(res.DeadLetters))
			}
			if got := runs.Load(); got != tc.want {
				t.Errorf("Process ran %d times, want %d", got, tc.want)
			}
		})
	}
}

func TestDecodeErrorsNameJSON(t *testing.T) {
	for in, want := range map[string]string{
		badID: "decode value: /id: want integer, got string",
		` + "`" + `{"id": 1, "name": "n", "address": {}}` + "`" + `: ` + "`" + `decode value: /address: missing required property "city"` + "`" + `,
		` + "`" + `{"id": 1, "name": "n", "address": {"city": "c"}, "orders": [{}, {"total": "9"}]}` + "`" + `: "decode value: /orders/1/total: want number, got string",
	} {
		_, err := kgen.DecodeInValue([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("DecodeInValue(%s) = %v, want %q", in, err, want)
		}
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "decode_test.go"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "test", "-run", "TestUndecodableValue|TestDecodeErrorsNameJSON|TestPermanent", "-v", ".")
}
