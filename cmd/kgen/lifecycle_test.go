package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/generator"
	"github.com/kgen-dev/kgen/settings"
)

var update = flag.Bool("update", false, "rewrite the golden testdata/settings/*.stderr files")

// offline makes the go commands of a test (run by the test or by kgen)
// work as on a fresh machine without network.
func offline(t *testing.T) {
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOWORK", "off")
}

// goIn runs the go command in dir and fails t on error.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestBadSettingsStderr runs "kgen validate" on every bad settings fixture
// and compares its stderr byte for byte with testdata/settings/NAME.stderr
// (-update rewrites them): every diagnostic with file:line:col, then one
// summary line. The diagnostics must also be exactly those of the settings
// package's NAME.txt golden, so the CLI prints what the validator says.
func TestBadSettingsStderr(t *testing.T) {
	t.Chdir("../..")
	files, err := filepath.Glob("testdata/settings/*.bad.json")
	if err != nil || len(files) == 0 {
		t.Fatal("no bad settings fixtures")
	}
	varRef := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// The environment the settings package's goldens were made
			// with (its testEnv): these variables set, all others unset.
			testEnv := map[string]string{"KAFKA_PASSWORD": "s3cret", "IN_TOPIC": "orders"}
			for _, m := range varRef.FindAllSubmatch(data, -1) {
				v := string(m[1])
				t.Setenv(v, testEnv[v])
				if _, ok := testEnv[v]; !ok {
					os.Unsetenv(v)
				}
			}
			code, _, stderr := kgenRun(t, ".", "validate", "--settings", f)
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			golden := strings.TrimSuffix(f, ".json") + ".stderr"
			if *update {
				if err := os.WriteFile(golden, []byte(stderr), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/kgen -run TestBadSettingsStderr -update)", err)
			}
			if stderr != string(want) {
				t.Errorf("stderr differs from %s (run go test ./cmd/kgen -run TestBadSettingsStderr -update and review the diff):\n%s",
					golden, unifiedDiff(golden, "stderr", string(want), stderr))
			}

			diags, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			var wantLines []string
			for _, l := range splitLines(string(diags)) {
				wantLines = append(wantLines, strings.Replace(l, name, f, 1))
			}
			lines := splitLines(stderr)
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "kgen: "+f+": ") {
				t.Fatalf("no summary line at the end:\n%s", stderr)
			}
			if got := strings.Join(lines[:len(lines)-1], "\n"); got != strings.Join(wantLines, "\n") {
				t.Errorf("diagnostics differ from the settings package's golden:\n%s", unifiedDiff("want", "got", strings.Join(wantLines, "\n")+"\n", got+"\n"))
			}
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f) + `(:\d+:\d+)?: error: `).MatchString(stderr) {
				t.Errorf("no error names the file (with line and column where known):\n%s", stderr)
			}
		})
	}
}

// TestMigrateSeedSettings migrates the seed's settings: the result is the
// current format, valid, of the same shape (a binary generated from the
// seed's settings accepts it) and with the same values; a second
// migration has nothing to do.
func TestMigrateSeedSettings(t *testing.T) {
	seed, err := os.ReadFile(filepath.Join(badDir, "seed_kafka.good.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(f, seed, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := kgenRun(t, ".", "migrate", "--settings", f)
	if code != exitOK {
		t.Fatalf("migrate: exit %d\n%s", code, stderr)
	}
	var before, after map[string]any
	if err := json.Unmarshal(seed, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(stdout), &after); err != nil {
		t.Fatalf("migrated settings are not JSON: %v\n%s", err, stdout)
	}
	if after["settings_version"] != float64(settings.CurrentVersion) {
		t.Errorf("settings_version = %v, want %d", after["settings_version"], settings.CurrentVersion)
	}
	delete(after, "settings_version")
	if b1, b2 := mustJSON(t, before), mustJSON(t, after); b1 != b2 {
		t.Errorf("migration changed values:\n%s", unifiedDiff("seed", "migrated", b1, b2))
	}
	s1, _ := settings.Parse("seed", seed, os.LookupEnv)
	s2, diags := settings.Parse("migrated", []byte(stdout), os.LookupEnv)
	if s1 == nil || s2 == nil {
		t.Fatalf("not valid: %v", diags)
	}
	if settings.Shape(s1) != settings.Shape(s2) {
		t.Errorf("migration changed the shape:\n%s\n%s", settings.Shape(s1), settings.Shape(s2))
	}

	if code, stdout, _ := kgenRun(t, ".", "migrate", "--settings", f, "--diff"); code != exitOK ||
		!strings.Contains(stdout, "\n+    \"settings_version\": 1,\n") || strings.Count(stdout, "\n+") != 2 || strings.Count(stdout, "\n-") != 0 {
		t.Errorf("--diff: exit %d, not one line added\n%s", code, stdout)
	}
	if code, _, stderr := kgenRun(t, ".", "migrate", "--settings", f, "--write"); code != exitOK {
		t.Fatalf("--write: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(f); string(b) != stdout {
		t.Error("--write did not write what migrate printed")
	}
	if code, _, stderr := kgenRun(t, ".", "migrate", "--settings", f, "--write"); code != exitOK || !strings.Contains(stderr, "nothing to migrate") {
		t.Errorf("second --write: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := kgenRun(t, ".", "validate", "--settings", f); code != exitOK {
		t.Errorf("migrated settings do not validate:\n%s", stderr)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestDriftRefusedAtStart builds a scaffolded processor, then runs it with
// settings of another shape (an outbound client added): it refuses to
// start, naming the first differing JSON path. With only values changed it
// starts: --check-settings says so, and a real start logs "starting"
// before SIGTERM stops it.
func TestDriftRefusedAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	offline(t)
	dir := initProject(t)
	bin := filepath.Join(t.TempDir(), "processor")
	goIn(t, dir, "build", "-o", bin, ".")
	seed, err := os.ReadFile(filepath.Join(dir, "settings.json"))
	if err != nil {
		t.Fatal(err)
	}

	var doc map[string]any
	if err := json.Unmarshal(seed, &doc); err != nil {
		t.Fatal(err)
	}
	out := doc["outbound_client_settings"].(map[string]any)
	delete(doc, "outbound_client_settings")
	out["id"] = "outbound"
	doc["outbound_clients"] = []any{out, map[string]any{"id": "console", "name": "stdout", "config": map[string]any{"format": "json"}}}
	shapeChanged := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(shapeChanged, []byte(mustJSON(t, doc)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--check-settings"}} {
		cmd := exec.Command(bin, append([]string{"--settings", shapeChanged}, extra...)...)
		got, err := cmd.CombinedOutput()
		want := shapeChanged + ": settings changed since code generation: run go generate (first difference at /outbound/1)"
		if code := exitOf(err); code != 1 || !strings.Contains(string(got), want) {
			t.Errorf("%v: exit %d, want 1 and %q; output:\n%s", extra, code, want, got)
		}
	}

	valuesChanged := filepath.Join(t.TempDir(), "settings.json")
	v := strings.Replace(string(seed), `"num_of_workers": 3`, `"num_of_workers": 5`, 1)
	v = strings.Replace(v, `"topic": "ARTICLE"`, `"topic": "ARTICLE.copy"`, 1)
	v = strings.ReplaceAll(v, `"localhost:9092"`, `"127.0.0.1:1"`)
	if v == string(seed) {
		t.Fatal("the values did not change")
	}
	if err := os.WriteFile(valuesChanged, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(bin, "--settings", valuesChanged, "--check-settings").CombinedOutput()
	if code := exitOf(err); code != 0 || !strings.Contains(string(got), "settings ok") {
		t.Errorf("--check-settings with new values: exit %d\n%s", code, got)
	}

	// A real start, against a broker nobody listens on.
	var logs syncBuffer
	cmd := exec.Command(bin, "--settings", valuesChanged)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(logs.String(), "msg=starting") {
		select {
		case err := <-waited:
			t.Fatalf("exited before starting (%v):\n%s", err, logs.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("did not log its start in 30s:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-waited
		t.Errorf("did not stop within 30s of SIGTERM:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "settings changed") {
		t.Errorf("refused settings whose values alone changed:\n%s", logs.String())
	}
}

func exitOf(err error) int {
	if xe, ok := err.(*exec.ExitError); ok {
		return xe.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// syncBuffer is a bytes.Buffer safe for a process's writes and a test's
// reads.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func (s *syncBuffer) lock() {
	if s.mu == nil {
		s.mu = make(chan struct{}, 1)
	}
	s.mu <- struct{}{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.lock()
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.lock()
	defer func() { <-s.mu }()
	return s.b.String()
}

// TestUpgradeFromOlderScaffold makes a scaffold look as if an older kgen
// wrote it (an older version in the manifest, an older process_test.go
// template recorded with its hash, go.mod requiring a published kgen, no
// dashboard, a generated file this kgen no longer writes, seed-format
// settings), edits process.go as a user would, then upgrades: the settings
// are migrated, go.mod points at this kgen, kgen/ is regenerated,
// process_test.go.kgen-new appears beside the untouched process_test.go,
// process.go is untouched, and the project builds, vets and tests.
func TestUpgradeFromOlderScaffold(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	offline(t)
	dir := initProject(t)
	src, _ := filepath.Abs("../..")
	path := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	read := func(rel string) string {
		b, err := os.ReadFile(path(rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write := func(rel, data string) {
		if err := os.WriteFile(path(rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	newTest := read("process_test.go")

	// The older kgen.
	oldTest := strings.Replace(newTest, "\n", "\n// Written by kgen v0.1.0.\n", 1)
	write("process_test.go", oldTest)
	userProc := read("process.go") + "\n// My change.\n"
	write("process.go", userProc)
	os.Remove(path(generator.DashboardPath))
	oldGen := generator.Header + "\n\npackage kgen\n"
	write("kgen/old_gen.go", oldGen)
	m, err := generator.ParseManifest([]byte(read(generator.ManifestPath)))
	if err != nil {
		t.Fatal(err)
	}
	m.KgenVersion = "v0.1.0"
	var gen []generator.ManifestFile
	for _, f := range m.Generated {
		if f.Path != generator.DashboardPath {
			gen = append(gen, f)
		}
	}
	m.Generated = append(gen, generator.ManifestFile{Path: "kgen/old_gen.go", SHA256: generator.Hash([]byte(oldGen))})
	for i, f := range m.WrittenOnce {
		if f.Path == "process_test.go" {
			m.WrittenOnce[i].SHA256 = generator.Hash([]byte(oldTest))
		}
	}
	write(generator.ManifestPath, mustJSON(t, m))
	goIn(t, dir, "mod", "edit", "-dropreplace=github.com/kgen-dev/kgen", "-require=github.com/kgen-dev/kgen@v0.1.0")
	if read("settings.json") == "" || strings.Contains(read("settings.json"), "settings_version") {
		t.Fatal("the scaffold's settings are not in the seed's format")
	}
	before := snapshotDir(t, dir)

	code, stdout, stderr := kgenRun(t, dir, "upgrade")
	if code != exitOK {
		t.Fatalf("upgrade: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"kgen v0.1.0 -> dev",
		"migrated to settings version 1",
		"replace github.com/kgen-dev/kgen => " + src,
		"process_test.go  template changed and you had not edited the file: wrote process_test.go.kgen-new",
		"-// Written by kgen v0.1.0.", // the diff, from the user's file to the new one
		"go build ./...", "go vet ./...", "go test ./...",
		"Upgraded ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "process.go.kgen-new") || strings.Contains(stdout, "FAILED") {
		t.Errorf("unexpected summary:\n%s", stdout)
	}

	after := snapshotDir(t, dir)
	if after["process_test.go"] != oldTest || after["process.go"] != userProc {
		t.Error("upgrade changed the user's process.go or process_test.go")
	}
	if after["process_test.go.kgen-new"] != newTest {
		t.Error("process_test.go.kgen-new is not what this kgen writes")
	}
	for p, b := range before {
		switch {
		case generator.IsOwned(p), p == "settings.json", p == "go.mod", p == "go.sum":
		case after[p] != b:
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && !generator.IsOwned(p) && p != "process_test.go.kgen-new" {
			t.Errorf("%s created", p)
		}
	}
	if _, ok := after["kgen/old_gen.go"]; ok {
		t.Error("kgen/old_gen.go was not removed")
	}
	if _, ok := after[generator.DashboardPath]; !ok {
		t.Errorf("%s was not generated", generator.DashboardPath)
	}
	if !strings.Contains(after["settings.json"], `"settings_version": 1`) {
		t.Error("settings.json was not migrated")
	}
	if !strings.Contains(after["go.mod"], "replace github.com/kgen-dev/kgen => "+src) {
		t.Errorf("go.mod does not point at this kgen:\n%s", after["go.mod"])
	}
	if code, _, stderr := kgenRun(t, dir, "generate", "--check"); code != exitOK {
		t.Errorf("generate --check after upgrade: exit %d\n%s", code, stderr)
	}

	// A second upgrade has nothing left to do.
	code, stdout, stderr = kgenRun(t, dir, "upgrade", "--no-verify")
	if code != exitOK {
		t.Fatalf("second upgrade: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"already at settings version", "go.mod           already points at this kgen", "kgen/            up to date", "nothing to merge"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("second upgrade: summary lacks %q:\n%s", want, stdout)
		}
	}
}

// TestUpgradeRefusesForeignFile: a foreign file in kgen/ stops upgrade
// before anything is written.
func TestUpgradeRefusesForeignFile(t *testing.T) {
	dir := initProject(t)
	os.WriteFile(filepath.Join(dir, "kgen", "mine.go"), []byte("package kgen\n"), 0o644)
	before := snapshotDir(t, dir)
	code, _, stderr := kgenRun(t, dir, "upgrade", "--no-verify")
	if code != exitFailure || !strings.Contains(stderr, "kgen/mine.go") || !strings.Contains(stderr, "nothing was written") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	after := snapshotDir(t, dir)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Error("upgrade wrote files although it stopped")
	}
}

// snapshotDir reads every file under dir, by slash path relative to dir.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
