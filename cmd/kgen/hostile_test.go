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

// TestInitInlineSecret: a settings copy holding a secret written inline is
// 0600, listed in .gitignore, and the user is told; without one, neither.
func TestInitInlineSecret(t *testing.T) {
	seed, err := os.ReadFile(seedSettings)
	if err != nil {
		t.Fatal(err)
	}
	withSecret := strings.Replace(string(seed), `"group_id"`, `"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_plain_username": "u", "sasl_plain_password": "Hunter2", "group_id"`, 1)
	if withSecret == string(seed) {
		t.Fatal("no group_id in the seed settings")
	}
	for _, tt := range []struct {
		name, settings string
		secret         bool
	}{{"inline secret", withSecret, true}, {"none", string(seed), false}} {
		t.Run(tt.name, func(t *testing.T) {
			sfile := filepath.Join(t.TempDir(), "s.json")
			if err := os.WriteFile(sfile, []byte(tt.settings), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "p")
			code, stdout, stderr := kgenRun(t, ".", "init", "--settings", sfile, "--out", dir)
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			fi, err := os.Stat(filepath.Join(dir, "settings.json"))
			if err != nil {
				t.Fatal(err)
			}
			gi, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
			told := strings.Contains(stdout, "holds a secret written inline (/inbound_client_settings/config/client_config/sasl_plain_password)")
			if tt.secret {
				if fi.Mode().Perm()&0o077 != 0 || !strings.Contains(string(gi), "\n/settings.json\n") || !told {
					t.Errorf("settings.json %o, .gitignore:\n%s\nstdout:\n%s", fi.Mode().Perm(), gi, stdout)
				}
				if strings.Contains(stderr, "Hunter2") || strings.Contains(stdout, "Hunter2") {
					t.Error("the secret was printed")
				}
				return
			}
			if fi.Mode().Perm()&0o044 == 0 || strings.Contains(string(gi), "settings.json") || told {
				t.Errorf("no secret: settings.json %o, .gitignore:\n%s\nstdout:\n%s", fi.Mode().Perm(), gi, stdout)
			}
		})
	}
}
