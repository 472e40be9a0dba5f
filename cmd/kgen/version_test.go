package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeBuildVersion builds kgen the way `make build` does (the
// Makefile's own -ldflags, with VERSION given) and checks that the version
// reaches `kgen version`, `kgen --version` and a new project's manifest.
func TestMakeBuildVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kgen with make")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make not found: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	const version = "v9.8.7-maketest"
	build := exec.Command("make", "-s", "--no-print-directory", "-C", root, "build", "BIN="+bin, "VERSION="+version)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	kgenBin := filepath.Join(bin, "kgen")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(kgenBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("kgen %v: %v\n%s", args, err, out)
		}
		if !strings.HasPrefix(string(out), "kgen "+version+"\n") {
			t.Errorf("kgen %v printed %q, want it to start with %q", args, out, "kgen "+version)
		}
	}
	proj := filepath.Join(t.TempDir(), "p")
	out, err := exec.Command(kgenBin, "init", "--settings", filepath.Join(root, "testdata/golden/seed_kafka/settings.json"),
		"--out", proj, "--module", "example.com/p").CombinedOutput()
	if err != nil {
		t.Fatalf("kgen init: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(proj, "kgen", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		KgenVersion string `json:"kgen_version"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.KgenVersion != version {
		t.Errorf("manifest.json kgen_version = %q, want %q", m.KgenVersion, version)
	}
	gomod, err := os.ReadFile(filepath.Join(proj, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "=> "+root) {
		t.Errorf("go.mod does not replace kgen with the checkout the Makefile named (%s):\n%s", root, gomod)
	}
}
