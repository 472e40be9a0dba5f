package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitRefusesBadModule: --module lands in go.mod, the Makefile and
// import paths; anything but a Go module path is refused before anything
// is written.
func TestInitRefusesBadModule(t *testing.T) {
	for _, mod := range []string{
		"$(shell touch /tmp/kgen-pwned)", "example.com/a b", `example.com/"q"`, "example.com//x",
		"/abs", "example.com/x/", "-flag", "example.com/.hidden", "example.com/x\nmodule y", "example.com/nul",
	} {
		t.Run(mod, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			code, _, stderr := kgenRun(t, ".", "init", "--settings", seedSettings, "--out", dir, "--module", mod)
			if code != exitUsage || !strings.Contains(stderr, "--module: module path") {
				t.Errorf("exit %d, want %d with a module path error:\n%s", code, exitUsage, stderr)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("a project was written")
			}
		})
	}
	for _, mod := range []string{"example.com/x", "github.com/acme/copier.v2", "myproc", "corp.internal/a_b~c"} {
		dir := filepath.Join(t.TempDir(), "p")
		if code, _, stderr := kgenRun(t, ".", "init", "--settings", seedSettings, "--out", dir, "--module", mod); code != exitOK {
			t.Errorf("--module %s: exit %d\n%s", mod, code, stderr)
		}
	}
}
