package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// initProject runs kgen init on the seed settings into a new directory.
func initProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "copier")
	code, stdout, stderr := kgenRun(t, ".", "init", "--settings", seedSettings, "--out", dir)
	if code != exitOK {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	return dir
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "copier")
	code, stdout, stderr := kgenRun(t, ".", "init", "--settings", seedSettings, "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"process.go", "kgen/config_gen.go", "cd " + dir, "make run"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output does not mention %q:\n%s", want, stdout)
		}
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	for _, want := range []string{"module example.com/copier\n", "replace github.com/kgen-dev/kgen => ", "tool github.com/kgen-dev/kgen/cmd/kgen"} {
		if !strings.Contains(string(gomod), want) {
			t.Errorf("go.mod lacks %q:\n%s", want, gomod)
		}
	}
	seed, _ := os.ReadFile(seedSettings)
	if got, _ := os.ReadFile(filepath.Join(dir, "settings.json")); string(got) != string(seed) {
		t.Error("settings.json is not a byte-for-byte copy")
	}

	// Again into the same (now non-empty) directory: refused, unchanged.
	os.WriteFile(filepath.Join(dir, "process.go"), []byte("mine"), 0o644)
	code, _, stderr = kgenRun(t, ".", "init", "--settings", seedSettings, "--out", dir)
	if code != exitFailure || !strings.Contains(stderr, "not empty") || !strings.Contains(stderr, "--force") {
		t.Errorf("init into a non-empty dir: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "process.go")); string(b) != "mine" {
		t.Error("refused init changed process.go")
	}
	code, _, stderr = kgenRun(t, ".", "init", "--settings", seedSettings, "--out", dir, "--force", "--module", "github.com/acme/copier")
	if code != exitOK {
		t.Errorf("--force: exit %d\n%s", code, stderr)
	}
}

func TestInitBadSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	bad := filepath.Join(badDir, "many_errors.bad.json")
	code, _, stderr := kgenRun(t, ".", "init", "--settings", bad, "--out", dir)
	if code != exitFailure || !strings.Contains(stderr, bad+":") || !strings.Contains(stderr, "nothing written") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("a project directory was created for bad settings")
	}
}

func TestGenerateCheck(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(t *testing.T, dir string)
		code  int
		files []string
	}{
		{"up to date", func(*testing.T, string) {}, exitOK, nil},
		{"stale", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "settings.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"ARTICLE_cosnumer_group"`, `"other_group"`, 1)), 0o644)
		}, exitStale, []string{"kgen/config_gen.go"}},
		{"hand-edited", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "kgen", "wiring_gen.go")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "// hack\n"...), 0o644)
		}, exitHandEdited, []string{"kgen/wiring_gen.go"}},
		{"missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "kgen", "payload_gen.go"))
		}, exitMissingOrExtra, []string{"kgen/payload_gen.go"}},
		{"extra", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "kgen", "helpers.go"), []byte("package kgen\n"), 0o644)
		}, exitMissingOrExtra, []string{"kgen/helpers.go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t)
			tt.edit(t, dir)
			// From kgen/, as go generate runs it.
			code, _, stderr := kgenRun(t, filepath.Join(dir, "kgen"), "generate", "--check")
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr)
			}
			for _, f := range tt.files {
				if !strings.Contains(stderr, f+": ") || !strings.Contains(stderr, "; ") {
					t.Errorf("stderr does not name %s with a fix:\n%s", f, stderr)
				}
			}
		})
	}
}

func TestGenerateCLI(t *testing.T) {
	dir := initProject(t)
	proc, _ := os.ReadFile(filepath.Join(dir, "process.go"))
	os.WriteFile(filepath.Join(dir, "process.go"), []byte("package main\n\nthis does not compile {"), 0o644)
	p := filepath.Join(dir, "settings.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"num_of_workers": 3`, `"num_of_workers": 5`, 1)), 0o644)

	code, stdout, stderr := kgenRun(t, dir, "generate")
	if code != exitOK || !strings.Contains(stdout, "wrote kgen/config_gen.go") {
		t.Fatalf("generate with a broken process.go: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "process.go")); string(got) != "package main\n\nthis does not compile {" {
		t.Error("generate touched process.go")
	}
	_ = proc
	if code, stdout, _ := kgenRun(t, ".", "generate", "--dir", dir); code != exitOK || !strings.Contains(stdout, "up to date") {
		t.Errorf("second generate: exit %d\n%s", code, stdout)
	}

	// A foreign file stops generation, naming it.
	os.WriteFile(filepath.Join(dir, "kgen", "notes.md"), []byte("mine"), 0o644)
	code, _, stderr = kgenRun(t, dir, "generate")
	if code != exitFailure || !strings.Contains(stderr, "kgen/notes.md") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("foreign file: exit %d\n%s", code, stderr)
	}

	// Outside a project.
	code, _, stderr = kgenRun(t, t.TempDir(), "generate")
	if code != exitFailure || !strings.Contains(stderr, "no go.mod") {
		t.Errorf("outside a project: exit %d\n%s", code, stderr)
	}
}
