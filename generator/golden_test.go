package generator

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/settings"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/*/out")

const goldenDir = "../testdata/golden"

// goldenCases lists the directories of testdata/golden holding a
// settings.json.
func goldenCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(goldenDir, e.Name(), SettingsFile)); err == nil {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

// renderCase renders the golden case name; sourceDir "" renders it in
// golden mode (machine-independent).
func renderCase(t *testing.T, name, sourceDir string) (Files, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, name, SettingsFile))
	if err != nil {
		t.Fatal(err)
	}
	s, diags := settings.Parse(SettingsFile, data, GenerationEnv)
	if s == nil {
		for _, d := range diags {
			t.Log(settings.Format(d))
		}
		t.Fatalf("%s: invalid settings", name)
	}
	opts := Options{Module: "example.com/" + name, Version: "dev", SourceDir: sourceDir}
	if sourceDir == "" {
		opts.SourceDir, opts.Golden = SourcePlaceholder, true
	}
	fs, err := Render(s, data, opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return fs, data
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			fs, _ := renderCase(t, name, "")
			out := filepath.Join(goldenDir, name, "out")
			if *update {
				if err := os.RemoveAll(out); err != nil {
					t.Fatal(err)
				}
				for p, f := range fs {
					dst := filepath.Join(out, filepath.FromSlash(p))
					if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(dst, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			seen := map[string]bool{}
			err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(out, path)
				rel = filepath.ToSlash(rel)
				seen[rel] = true
				f, ok := fs[rel]
				if !ok {
					t.Errorf("%s: in the golden files but no longer rendered", rel)
					return nil
				}
				want, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if !bytes.Equal(f.Data, want) {
					t.Errorf("%s differs from the golden file (run go test ./generator -update and review the diff):\n%s", rel, firstDiff(string(want), string(f.Data)))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for p := range fs {
				if !seen[p] {
					t.Errorf("%s: rendered but not in the golden files (run go test ./generator -update)", p)
				}
			}
		})
	}
}

// TestDeterministic renders every case twice and wants the same bytes.
func TestDeterministic(t *testing.T) {
	for _, name := range goldenCases(t) {
		a, _ := renderCase(t, name, "")
		b, _ := renderCase(t, name, "")
		for p := range a {
			if !bytes.Equal(a[p].Data, b[p].Data) {
				t.Errorf("%s/%s: two renderings differ", name, p)
			}
		}
	}
}

// TestOwnership checks the two classes of file: generated files live in
// kgen/ with the header, written-once files outside it.
func TestOwnership(t *testing.T) {
	for _, name := range goldenCases(t) {
		fs, _ := renderCase(t, name, "")
		for p, f := range fs {
			if (f.Class == Generated) != IsOwned(p) {
				t.Errorf("%s/%s: class %s in the wrong place", name, p, f.Class)
			}
			if f.Class == Generated && strings.HasSuffix(p, ".go") {
				if !strings.HasSuffix(p, "_gen.go") || !bytes.HasPrefix(f.Data, []byte(Header+"\n")) {
					t.Errorf("%s/%s: generated Go file without the _gen.go suffix or the header", name, p)
				}
			}
			if f.Class == WrittenOnce && strings.HasSuffix(p, ".go") && !bytes.Contains(f.Data, []byte("This file is yours")) {
				t.Errorf("%s/%s: written-once file does not say it is the user's", name, p)
			}
		}
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(same lines; different line endings?)"
}
