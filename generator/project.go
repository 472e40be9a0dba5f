package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kgen-dev/kgen/settings"
)

// SettingsFile is the settings file's name at a project's root.
const SettingsFile = "settings.json"

// ErrNoProject is returned when no go.mod is found above a directory.
var ErrNoProject = errors.New("not inside a Go module (no go.mod found)")

// SettingsError is settings that failed validation; the diagnostics say
// why.
type SettingsError struct {
	File        string
	Diagnostics []settings.Diagnostic
}

func (e *SettingsError) Error() string {
	n := 0
	for _, d := range e.Diagnostics {
		if d.Severity == settings.Error {
			n++
		}
	}
	return fmt.Sprintf("%s: %d error(s) in the settings", e.File, n)
}

// FindRoot returns the nearest directory at or above dir holding a go.mod.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s: %w", dir, ErrNoProject)
		}
	}
}

// project is a generated project on disk, rendered afresh.
type project struct {
	root     string
	manifest *Manifest // nil when the project has none
	files    Files     // what the settings render to now
	diags    []settings.Diagnostic
}

// loadProject reads the project at root (its settings.json, go.mod and
// manifest) and renders what its kgen-owned files should be. It never
// reads or compiles the user's Go code. The returned diagnostics are the
// settings' warnings; settings with errors are a *SettingsError.
func loadProject(root, version string) (*project, error) {
	p := &project{root: root}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	module, err := ModulePath(gomod)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(root, "go.mod"), err)
	}
	sfile := filepath.Join(root, SettingsFile)
	data, err := os.ReadFile(sfile)
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	s, diags := settings.Parse(sfile, data, GenerationEnv)
	p.diags = diags
	if s == nil {
		return nil, &SettingsError{File: sfile, Diagnostics: diags}
	}
	mpath := filepath.Join(root, filepath.FromSlash(ManifestPath))
	if b, err := os.ReadFile(mpath); err == nil {
		if p.manifest, err = ParseManifest(b); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it and run kgen generate to start afresh)", mpath, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	opts := Options{Module: module, Version: version}
	if p.manifest != nil {
		opts.WrittenOnce = p.manifest.WrittenOnce
	}
	if p.files, err = Render(s, data, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// ownedOnDisk lists the files under kgen/ as project-relative slash paths.
// A directory inside kgen/ is listed as such (with a trailing slash).
func (p *project) ownedOnDisk() ([]string, error) {
	dir := filepath.Join(p.root, OwnedDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := OwnedDir + "/" + e.Name()
		if e.IsDir() {
			name += "/"
		}
		out = append(out, name)
	}
	return out, nil
}

// hasHeader reports whether data starts with the generated-file header.
// Files that cannot carry a comment (manifest.json) count as generated.
func hasHeader(rel string, data []byte) bool {
	if strings.HasSuffix(rel, ".json") {
		return true
	}
	return bytes.HasPrefix(data, []byte(Header+"\n"))
}

// writeAtomic writes data to path through a temporary file in the same
// directory, so a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".kgen-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}
