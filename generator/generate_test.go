package generator

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project writes the golden case seed_kafka to a temp dir, without
// building it.
func newProject(t *testing.T) string {
	t.Helper()
	fs, _ := renderCase(t, "seed_kafka", "")
	dir := filepath.Join(t.TempDir(), "p")
	if _, err := WriteNew(dir, fs, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// changeWorkers rewrites num_of_workers in the project's settings.json.
func changeWorkers(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, SettingsFile)
	s := strings.Replace(readFile(t, p), `"num_of_workers": 3`, `"num_of_workers": 7`, 1)
	writeFile(t, p, s)
}

// addToManifest lists rel in the project's manifest as a generated file.
func addToManifest(t *testing.T, dir, rel, data string) {
	t.Helper()
	mp := filepath.Join(dir, filepath.FromSlash(ManifestPath))
	m, err := ParseManifest([]byte(readFile(t, mp)))
	if err != nil {
		t.Fatal(err)
	}
	m.Generated = append(m.Generated, ManifestFile{Path: rel, SHA256: Hash([]byte(data))})
	b, _ := json.MarshalIndent(m, "", "  ")
	writeFile(t, mp, string(b)+"\n")
	writeFile(t, filepath.Join(dir, filepath.FromSlash(rel)), data)
}

func kinds(probs []Problem) map[ProblemKind][]string {
	out := map[ProblemKind][]string{}
	for _, p := range probs {
		out[p.Kind] = append(out[p.Kind], p.Path)
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  map[ProblemKind][]string
	}{
		{"up to date", func(*testing.T, string) {}, map[ProblemKind][]string{}},
		{"settings value changed", changeWorkers, map[ProblemKind][]string{
			Stale: {"kgen/config_gen.go", ManifestPath},
		}},
		{"hand-edited", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "kgen", "config_gen.go")
			writeFile(t, p, readFile(t, p)+"\n// tweak\n")
		}, map[ProblemKind][]string{HandEdited: {"kgen/config_gen.go"}}},
		{"missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "kgen", "harness_gen.go"))
		}, map[ProblemKind][]string{MissingOrExtra: {"kgen/harness_gen.go"}}},
		{"extra", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "kgen", "mine.go"), "package kgen\n")
		}, map[ProblemKind][]string{MissingOrExtra: {"kgen/mine.go"}}},
		{"no longer generated", func(t *testing.T, dir string) {
			addToManifest(t, dir, "kgen/old_gen.go", Header+"\n\npackage kgen\n")
		}, map[ProblemKind][]string{Stale: {ManifestPath, "kgen/old_gen.go"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newProject(t)
			tt.setup(t, dir)
			probs, _, err := Check(dir, "dev")
			if err != nil {
				t.Fatal(err)
			}
			got := kinds(probs)
			if len(got) != len(tt.want) {
				t.Fatalf("problems %v, want %v", probs, tt.want)
			}
			for k, paths := range tt.want {
				if strings.Join(got[k], ",") != strings.Join(paths, ",") {
					t.Errorf("%s: %v, want %v", k, got[k], paths)
				}
			}
			for _, p := range probs {
				if p.Fix == "" || p.What == "" {
					t.Errorf("%s: no explanation or fix", p.Path)
				}
			}
		})
	}
}

func TestGenerateUpdatesOnlyOwned(t *testing.T) {
	dir := newProject(t)
	changeWorkers(t, dir)
	before := snapshot(t, dir)
	res, err := Generate(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Written, ",") != "kgen/config_gen.go,"+ManifestPath {
		t.Errorf("wrote %v", res.Written)
	}
	after := snapshot(t, dir)
	for p, b := range before {
		if !IsOwned(p) && string(after[p]) != string(b) {
			t.Errorf("%s changed", p)
		}
	}
	if !strings.Contains(string(after["kgen/config_gen.go"]), "Workers: 7") {
		t.Error("config_gen.go does not have the new worker count")
	}
	if probs, _, _ := Check(dir, "dev"); len(probs) != 0 {
		t.Errorf("after generate: %v", probs)
	}
	// A second run writes nothing.
	res, err = Generate(dir, "dev")
	if err != nil || len(res.Written)+len(res.Removed) != 0 {
		t.Errorf("second generate: %+v, %v", res, err)
	}
}

func TestGenerateRemovesStaleFile(t *testing.T) {
	dir := newProject(t)
	addToManifest(t, dir, "kgen/old_gen.go", Header+"\n\npackage kgen\n")
	res, err := Generate(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Removed, ",") != "kgen/old_gen.go" {
		t.Errorf("removed %v", res.Removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "kgen", "old_gen.go")); !os.IsNotExist(err) {
		t.Error("kgen/old_gen.go still there")
	}
}

func TestGenerateRefusesForeignFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		path  string
	}{
		{"unlisted file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "kgen", "notes.txt"), "mine")
		}, "kgen/notes.txt"},
		{"listed but header removed", func(t *testing.T, dir string) {
			addToManifest(t, dir, "kgen/old_gen.go", "package kgen\n\n// Now it is mine.\n")
		}, "kgen/old_gen.go"},
		{"directory", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "kgen", "sub"), 0o755)
		}, "kgen/sub/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newProject(t)
			tt.setup(t, dir)
			changeWorkers(t, dir)
			before := snapshot(t, dir)
			_, err := Generate(dir, "dev")
			var fe *ForeignFileError
			if !errors.As(err, &fe) || fe.Path != tt.path {
				t.Fatalf("err = %v, want a ForeignFileError for %s", err, tt.path)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error does not name the file: %v", err)
			}
			after := snapshot(t, dir)
			for p, b := range before {
				if string(after[p]) != string(b) {
					t.Errorf("%s: written although generation stopped", p)
				}
			}
		})
	}
}

func TestGenerateFindsNoProject(t *testing.T) {
	if _, err := FindRoot(t.TempDir()); !errors.Is(err, ErrNoProject) {
		t.Errorf("FindRoot in an empty dir: %v", err)
	}
	dir := newProject(t)
	root, err := FindRoot(filepath.Join(dir, "kgen"))
	if err != nil || root != dir {
		t.Errorf("FindRoot(kgen/) = %q, %v; want %q", root, err, dir)
	}
}

func TestWriteNew(t *testing.T) {
	fs, _ := renderCase(t, "seed_kafka", "")
	t.Run("refuses non-empty", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "keep.txt"), "x")
		if _, err := WriteNew(dir, fs, false); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("err = %v, want ErrNotEmpty", err)
		}
		if got := snapshot(t, dir); len(got) != 1 {
			t.Errorf("dir changed: %v", got)
		}
	})
	t.Run("empty dir", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := WriteNew(dir, fs, false); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(t, dir); len(got) != len(fs) {
			t.Errorf("%d files, want %d", len(got), len(fs))
		}
		entries, _ := os.ReadDir(filepath.Dir(dir))
		for _, e := range entries {
			if strings.Contains(e.Name(), ".kgen-") {
				t.Errorf("left a temporary %s", e.Name())
			}
		}
	})
	t.Run("force keeps unrelated files", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "keep.txt"), "x")
		writeFile(t, filepath.Join(dir, "process.go"), "old")
		res, err := WriteNew(dir, fs, true)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Replaced, ",") != "process.go" {
			t.Errorf("replaced %v", res.Replaced)
		}
		got := snapshot(t, dir)
		if string(got["keep.txt"]) != "x" || len(got) != len(fs)+1 {
			t.Errorf("unrelated file lost or files missing: %d files", len(got))
		}
	})
	t.Run("force rolls back", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "process.go"), "old")
		// A directory where the project has a file makes the move fail
		// after process.go was replaced ("settings.json" sorts later).
		os.Mkdir(filepath.Join(dir, "settings.json"), 0o755)
		if _, err := WriteNew(dir, fs, true); err == nil {
			t.Fatal("no error")
		}
		got := snapshot(t, dir)
		if len(got) != 1 || string(got["process.go"]) != "old" {
			t.Errorf("not rolled back: %v", got)
		}
	})
}

// TestDashboard: the Grafana dashboard is a generated file although JSON
// cannot carry the generated header; the manifest's hash says it is kgen's.
func TestDashboard(t *testing.T) {
	fs, _ := renderCase(t, "seed_kafka", "")
	f, ok := fs[DashboardPath]
	if !ok || f.Class != Generated || !json.Valid(f.Data) {
		t.Fatalf("%s: not rendered as a valid generated JSON file", DashboardPath)
	}
	m, err := ParseManifest(fs[ManifestPath].Data)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := m.Lookup(DashboardPath); !ok || h != Hash(f.Data) {
		t.Errorf("%s not in the manifest with its hash", DashboardPath)
	}

	t.Run("hand-edited", func(t *testing.T) {
		dir := newProject(t)
		p := filepath.Join(dir, filepath.FromSlash(DashboardPath))
		writeFile(t, p, strings.Replace(readFile(t, p), `"kgen processor"`, `"mine"`, 1))
		probs, _, err := Check(dir, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(probs); len(got) != 1 || strings.Join(got[HandEdited], ",") != DashboardPath {
			t.Errorf("problems %v, want %s hand-edited", probs, DashboardPath)
		}
		if _, err := Generate(dir, "dev"); err != nil {
			t.Fatal(err)
		}
		if readFile(t, p) != string(f.Data) {
			t.Error("generate did not restore the dashboard")
		}
	})
	// A JSON file no longer generated is removed only while it is what
	// kgen wrote.
	t.Run("stale JSON removed", func(t *testing.T) {
		dir := newProject(t)
		addToManifest(t, dir, "kgen/old.json", "{}\n")
		res, err := Generate(dir, "dev")
		if err != nil || strings.Join(res.Removed, ",") != "kgen/old.json" {
			t.Fatalf("removed %v, err %v", res, err)
		}
	})
	t.Run("edited stale JSON refused", func(t *testing.T) {
		dir := newProject(t)
		addToManifest(t, dir, "kgen/old.json", "{}\n")
		writeFile(t, filepath.Join(dir, "kgen", "old.json"), `{"mine": true}`+"\n")
		_, err := Generate(dir, "dev")
		var fe *ForeignFileError
		if !errors.As(err, &fe) || fe.Path != "kgen/old.json" {
			t.Fatalf("err = %v, want a ForeignFileError for kgen/old.json", err)
		}
		if probs, _, _ := Check(dir, "dev"); strings.Join(kinds(probs)[MissingOrExtra], ",") != "kgen/old.json" {
			t.Errorf("--check: %v", probs)
		}
	})
}
