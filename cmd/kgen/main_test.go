package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
	if code != exitOK || !strings.Contains(stdout, "kgen ") || !strings.Contains(stdout, "runtime API 1") {
		t.Errorf("version: exit %d:\n%s", code, stdout)
	}
}

func TestMigrate(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "settings.json")
	seed, _ := os.ReadFile(seedSettings)
	os.WriteFile(f, seed, 0o644)

	code, stdout, _ := kgenRun(t, dir, "migrate", "--settings", f, "--diff")
	if code != exitOK || !strings.Contains(stdout, `+  "settings_version": 1,`) || !strings.HasPrefix(stdout, "--- ") {
		t.Errorf("--diff: exit %d:\n%s", code, stdout)
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
