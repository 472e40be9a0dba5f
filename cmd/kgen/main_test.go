package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/schema"
)

const (
	seedSettings = "../../testdata/golden/seed_kafka/settings.json"
	badDir       = "../../testdata/settings"
)

// kgenRun runs the CLI in-process in working directory wd.
func kgenRun(t *testing.T, wd string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	e := &env{
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string {
			if k == "KGEN_SOURCE" {
				return src
			}
			return ""
		},
		getwd: func() (string, error) { return wd, nil },
	}
	code = e.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"frobnicate"},
		{"validate"},
		{"validate", "--settings"},
		{"validate", "--settings", seedSettings, "--nope"},
		{"validate", "--settings", seedSettings, "--format", "xml"},
		{"validate", "--settings", seedSettings, "extra"},
		{"init", "--settings", seedSettings},
		{"migrate", "--settings", seedSettings, "--diff", "--write"},
		{"generate", "--check=maybe"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := kgenRun(t, t.TempDir(), args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.HasPrefix(stderr, "kgen: ") || !strings.Contains(stderr, "--help") {
				t.Errorf("stderr does not say what is wrong and where to look:\n%s", stderr)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, ".go:") {
				t.Errorf("stderr has a stack trace:\n%s", stderr)
			}
		})
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, c := range []string{"", "validate", "vet", "init", "generate", "schema", "version", "migrate", "upgrade"} {
		args := []string{"--help"}
		if c != "" {
			args = []string{c, "--help"}
		}
		code, stdout, _ := kgenRun(t, t.TempDir(), args...)
		if code != exitOK || !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "Examples:") {
			t.Errorf("kgen %s --help: exit %d, no usage or examples:\n%s", c, code, stdout)
		}
	}
}

func TestValidate(t *testing.T) {
	code, stdout, stderr := kgenRun(t, ".", "validate", "--settings", seedSettings)
	if code != exitOK || !strings.Contains(stdout, "valid") {
		t.Errorf("seed settings: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "warning: /outbound_client_settings/config/topic:") {
		t.Errorf("the loop warning is missing:\n%s", stderr)
	}

	code, stdout, _ = kgenRun(t, ".", "validate", "--settings", seedSettings, "--format", "json")
	var diags []map[string]any
	if code != exitOK || json.Unmarshal([]byte(stdout), &diags) != nil || len(diags) == 0 {
		t.Errorf("--format json: exit %d, output:\n%s", code, stdout)
	}
}

// TestBadSettings runs validate on every bad settings fixture: exit 1, and
// stderr has the fixture's expected diagnostics.
func TestBadSettings(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(badDir, "*.bad.json"))
	if len(files) == 0 {
		t.Skip("no bad settings fixtures")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("${")) {
			continue // depends on the environment
		}
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".txt")
			if err != nil {
				t.Skip("no expected output")
			}
			code, _, stderr := kgenRun(t, ".", "validate", "--settings", f)
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				line = strings.Replace(line, name, f, 1)
				if !strings.Contains(stderr, line+"\n") {
					t.Errorf("missing diagnostic:\n  %s\nstderr:\n%s", line, stderr)
				}
			}
			if !strings.Contains(stderr, "kgen: "+f+": ") {
				t.Errorf("no one-line summary:\n%s", stderr)
			}
		})
	}
}

func TestVet(t *testing.T) {
	if code, _, stderr := kgenRun(t, ".", "vet", "--settings", seedSettings); code != exitOK {
		t.Errorf("vet: exit %d\n%s", code, stderr)
	}
	if code, _, _ := kgenRun(t, ".", "vet", "--settings", seedSettings, "--strict"); code != exitFailure {
		t.Errorf("vet --strict with warnings: exit %d, want 1", code)
	}
}

func TestSchemaAndVersion(t *testing.T) {
	code, stdout, _ := kgenRun(t, ".", "schema")
	if code != exitOK || strings.TrimSpace(stdout) != strings.TrimSpace(string(schema.JSON())) || !json.Valid([]byte(stdout)) {
		t.Errorf("schema: exit %d, output is not the schema", code)
	}
	code, stdout, _ = kgenRun(t, ".", "version")
	if code != exitOK || !strings.Contains(stdout, "kgen ") || !strings.Contains(stdout, "runtime API 2") {
		t.Errorf("version: exit %d:\n%s", code, stdout)
	}
}

func TestMigrate(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "settings.json")
	seed, _ := os.ReadFile(seedSettings)
	os.WriteFile(f, seed, 0o644)

	code, stdout, _ := kgenRun(t, dir, "migrate", f, "--diff")
	// One line added, indented as the seed indents, nothing removed.
	wantDiff := "--- " + f + "\n+++ " + f + " (migrated)\n@@ -1,5 +1,6 @@\n {\n \n+    \"settings_version\": 1,\n     \"num_of_workers\": 3,\n     \"inbound_client_settings\": {\n         \"name\":\"kafka_consumer\",\n"
	if code != exitOK || stdout != wantDiff {
		t.Errorf("--diff: exit %d:\n%s\nwant:\n%s", code, stdout, wantDiff)
	}
	code, stdout, _ = kgenRun(t, dir, "migrate", "--settings", f)
	if code != exitOK || !strings.Contains(stdout, `"settings_version": 1`) {
		t.Errorf("migrate: exit %d:\n%s", code, stdout)
	}
	if b, _ := os.ReadFile(f); !bytes.Equal(b, seed) {
		t.Error("migrate without --write changed the file")
	}
	if code, _, stderr := kgenRun(t, dir, "migrate", "--settings", f, "--write"); code != exitOK {
		t.Fatalf("--write: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := kgenRun(t, dir, "validate", "--settings", f); code != exitOK {
		t.Errorf("migrated settings do not validate:\n%s", stderr)
	}
	code, _, stderr := kgenRun(t, dir, "migrate", "--settings", f, "--write")
	if code != exitOK || !strings.Contains(stderr, "nothing to migrate") {
		t.Errorf("second --write: exit %d\n%s", code, stderr)
	}
}

// TestSettingsPositional: every command that takes --settings FILE takes
// FILE as its argument too; both at once is a usage error naming both.
func TestSettingsPositional(t *testing.T) {
	for _, c := range []string{"validate", "vet", "migrate", "init"} {
		t.Run(c, func(t *testing.T) {
			args := []string{c, seedSettings}
			if c == "init" {
				args = append(args, "--out", filepath.Join(t.TempDir(), "p"))
			}
			if code, _, stderr := kgenRun(t, ".", args...); code != exitOK {
				t.Errorf("kgen %s: exit %d:\n%s", strings.Join(args, " "), code, stderr)
			}
			both := append([]string{c, "--settings", "other.json"}, args[1:]...)
			code, _, stderr := kgenRun(t, ".", both...)
			if code != exitUsage || !strings.Contains(stderr, "--settings other.json or "+seedSettings+", not both") {
				t.Errorf("kgen %s: exit %d, want %d naming both files:\n%s", strings.Join(both, " "), code, exitUsage, stderr)
			}
		})
	}
}

// TestNoEffectGrouped: the seed's options without effect are named on one
// line, the other warnings (the topic loop, ...) stay apart, --verbose
// explains each, JSON keeps every diagnostic, and init prints the warnings
// once. Which options have no effect comes from the settings package (the
// JSON output), so the test follows it.
func TestNoEffectGrouped(t *testing.T) {
	_, stdout, _ := kgenRun(t, ".", "vet", "--format", "json", seedSettings)
	var diags []struct {
		NoEffect string `json:"no_effect"`
	}
	if err := json.Unmarshal([]byte(stdout), &diags); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range diags {
		if d.NoEffect != "" {
			names = append(names, d.NoEffect)
		}
	}
	if len(names) < 8 { // enable_listener, max_records and kafka-python producer options
		t.Fatalf("json: %d options without effect (%v), want at least 8", len(names), names)
	}
	others := len(diags) - len(names)
	grouped := fmt.Sprintf("warning: %d options have no effect here: %s; `kgen vet --verbose` explains each", len(names), strings.Join(names, ", "))
	const loop = `warning: /outbound_client_settings/config/topic: topic "ARTICLE" is also consumed`
	for _, c := range []string{"validate", "vet"} {
		code, stdout, stderr := kgenRun(t, ".", c, seedSettings)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitOK || len(lines) != others+1 || !slices.Contains(lines, seedSettings+": "+grouped) || !strings.Contains(stderr, loop) {
			t.Errorf("kgen %s: exit %d, stderr:\n%s\nwant one line:\n%s", c, code, stderr, grouped)
		}
		if !strings.Contains(stdout, fmt.Sprintf("valid (%d warning(s))", others+1)) {
			t.Errorf("kgen %s: stdout %q", c, stdout)
		}
	}
	code, _, stderr := kgenRun(t, ".", "vet", "--verbose", seedSettings)
	if n := strings.Count(stderr, " has no effect: "); code != exitOK || n != len(names) || !strings.Contains(stderr, loop) || strings.Contains(stderr, "have no effect here") {
		t.Errorf("vet --verbose: exit %d, %d explained:\n%s", code, n, stderr)
	}
	if !strings.Contains(stderr, "enable_listener has no effect: rebalances are always handled") {
		t.Errorf("vet --verbose does not give the reason:\n%s", stderr)
	}
	code, _, stderr = kgenRun(t, ".", "init", seedSettings, "--out", filepath.Join(t.TempDir(), "p"))
	if code != exitOK || strings.Count(stderr, grouped) != 1 || strings.Count(stderr, loop) != 1 || strings.Count(stderr, "\n") != others+1 {
		t.Errorf("init: exit %d, warnings not printed once:\n%s", code, stderr)
	}
}

// TestInitFailurePolicy: init says which failure policy is in force and
// gives JSON that changes it; that JSON, added as told, is valid and puts
// dead letters in force.
func TestInitFailurePolicy(t *testing.T) {
	code, stdout, stderr := kgenRun(t, ".", "init", seedSettings, "--out", filepath.Join(t.TempDir(), "p"))
	if code != exitOK {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	const member = `"processing": {"on_failure": "dead_letter", "dead_letter_topic": "ARTICLE-dlq"}`
	for _, want := range []string{
		`Failure policy: on_failure "stop" (the default: settings.json sets no processing.on_failure).`,
		"A record that still fails after 3 retries (max_retries) stops the processor",
		"add this member to settings.json:\n  " + member + "\n",
		"then run make generate",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, stdout)
		}
	}
	seed, err := os.ReadFile(seedSettings)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(seed), "{", "{\n"+member+",", 1)
	f := filepath.Join(t.TempDir(), "settings.json")
	os.WriteFile(f, []byte(edited), 0o644)
	dir := filepath.Join(t.TempDir(), "p")
	code, stdout, stderr = kgenRun(t, ".", "init", f, "--out", dir)
	if code != exitOK || !strings.Contains(stdout, `Failure policy: on_failure "dead_letter" (set in settings.json).`) ||
		!strings.Contains(stdout, `written to the dead-letter topic "ARTICLE-dlq"`) {
		t.Errorf("init with the suggested member: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
