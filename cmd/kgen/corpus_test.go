package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const hostileDir = "../../testdata/hostile"

// want is a corpus case's expected outcome, from NAME.want: a first line
// "refused SUBSTRING" (kgen init fails, stderr has SUBSTRING, nothing is
// written) or "accepted" (init succeeds; the project vets and builds),
// then any of:
//
//	warning SUBSTRING          init printed a warning with SUBSTRING
//	absent SUBSTRING           neither stdout nor stderr holds SUBSTRING
//	private settings.json      the project's settings.json is 0600
//	start-unset VAR SUBSTRING  the built processor, with VAR unset, refuses
//	                           its compiled-in settings with SUBSTRING
//	start-env VAR=V SUBSTRING  likewise with VAR set to V
type want struct {
	refused  string
	warnings []string
	absent   []string
	private  bool
	starts   []start
}

type start struct {
	env    string // "VAR" (unset) or "VAR=V"
	stderr string
}

func readWant(t *testing.T, path string) want {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w want
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		kw, rest, _ := strings.Cut(sc.Text(), " ")
		switch {
		case n == 1 && kw == "refused" && rest != "":
			w.refused = rest
		case n == 1 && kw == "accepted":
		case n == 1:
			t.Fatalf("%s:1: want \"refused SUBSTRING\" or \"accepted\"", path)
		case kw == "warning":
			w.warnings = append(w.warnings, rest)
		case kw == "absent":
			w.absent = append(w.absent, rest)
		case kw == "private":
			w.private = true
		case kw == "start-unset" || kw == "start-env":
			env, msg, _ := strings.Cut(rest, " ")
			w.starts = append(w.starts, start{env, msg})
		default:
			t.Fatalf("%s:%d: unknown line %q", path, n, sc.Text())
		}
	}
	return w
}

// TestHostileCorpus runs kgen init on every settings file of
// testdata/hostile, crafted to turn settings text into code, to exhaust
// memory or time, or to slip past a check, and checks the outcome its
// .want file states. Every project init writes must vet and build (not in
// -short mode), and hold no directive, block comment or init function but
// those kgen writes itself.
func TestHostileCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			w := readWant(t, strings.TrimSuffix(file, ".json")+".want")
			dir := filepath.Join(t.TempDir(), strings.ReplaceAll(name, "_", "-"))
			code, stdout, stderr := kgenRun(t, ".", "init", "--settings", file, "--out", dir)
			for _, a := range w.absent {
				if strings.Contains(stdout+stderr, a) {
					t.Errorf("output holds %q:\n%s%s", a, stdout, stderr)
				}
			}
			if w.refused != "" {
				if code == exitOK || !strings.Contains(stderr, w.refused) {
					t.Errorf("exit %d, want a failure with %q:\n%s", code, w.refused, stderr)
				}
				if _, err := os.Stat(dir); err == nil {
					t.Error("a refused init wrote a project")
				}
				return
			}
			if code != exitOK {
				t.Fatalf("exit %d, want 0:\n%s", code, stderr)
			}
			for _, warn := range w.warnings {
				if !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, warn) {
					t.Errorf("no warning with %q:\n%s", warn, stderr)
				}
			}
			if w.private {
				if fi, err := os.Stat(filepath.Join(dir, "settings.json")); err != nil || fi.Mode().Perm()&0o077 != 0 {
					t.Errorf("settings.json: %v, %v; want 0600", fi.Mode().Perm(), err)
				}
			}
			checkInert(t, dir)
			if testing.Short() {
				return
			}
			t.Parallel()
			goOffline(t, dir, nil, "vet", "./...")
			if len(w.starts) == 0 {
				goOffline(t, dir, nil, "build", "./...")
				return
			}
			bin := filepath.Join(t.TempDir(), "processor")
			goOffline(t, dir, nil, "build", "-o", bin, ".")
			for _, s := range w.starts {
				cmd := exec.Command(bin, "--check-settings")
				cmd.Env = envWithout(s.env)
				out, err := cmd.CombinedOutput()
				if exitOf(err) != 1 || !strings.Contains(string(out), s.stderr) {
					t.Errorf("%s: --check-settings exit %d, want 1 with %q:\n%s", s.env, exitOf(err), s.stderr, out)
				}
			}
		})
	}
}

// envWithout is the process environment with every variable named in
// spec's "VAR" or "VAR=V" removed, and VAR=V added.
func envWithout(spec string) []string {
	k, _, set := strings.Cut(spec, "=")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, k+"=") && !strings.HasPrefix(kv, "KGEN_HOSTILE_") {
			env = append(env, kv)
		}
	}
	// The other variables of the corpus, set to valid values.
	env = append(env, "KGEN_HOSTILE_TOPIC=in", "KGEN_HOSTILE_BROKER=127.0.0.1:9092", "KGEN_HOSTILE_GROUP=g")
	if set {
		env = append(env, spec)
	} else if k != "KGEN_HOSTILE_PROTO" {
		env = append(env, "KGEN_HOSTILE_PROTO=PLAINTEXT")
	}
	return env
}

// goOffline runs the go command in dir as on a fresh machine without
// network (without t.Setenv, so that subtests can run in parallel).
func goOffline(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOPROXY=off", "GOFLAGS=", "GOWORK=off"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var (
	directive = regexp.MustCompile(`(?m)^[ \t]*//(go:|line |export |extern |\s*\+build)`)
	initFunc  = regexp.MustCompile(`(?m)^func init\(`)
)

// checkInert fails t when a Go file of the project holds a directive other
// than kgen's own //go:generate, a block comment, an init function, or a
// byte Go refuses or an editor breaks a line at.
func checkInert(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, loc := range directive.FindAllStringIndex(src, -1) {
			line, _, _ := strings.Cut(src[loc[0]:], "\n")
			if line != "//go:generate go tool kgen generate" {
				t.Errorf("%s: directive %q", path, line)
			}
		}
		if initFunc.MatchString(src) || strings.Contains(src, "\n/*") {
			t.Errorf("%s: an init function or a block comment", path)
		}
		for _, bad := range []string{"\x00", "\r", "\ufeff", "\u2028", "\u2029", "\u0085", "\u202e", "\ue000"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s: holds %q", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
