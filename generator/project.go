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
	settings *settings.Settings
	data     []byte  // settings.json's content, as rendered
	opts     Options // as rendered
	files    Files   // what the settings render to now
	diags    []settings.Diagnostic
}

// loadOptions change what loadProject renders.
type loadOptions struct {
	// settings replaces settings.json's content when not nil.
	settings []byte
	// sourceDir is Options.SourceDir.
	sourceDir string
}

// loadProject reads the project at root (its settings.json, go.mod and
// manifest) and renders what its kgen-owned files should be. It never
// reads or compiles the user's Go code. The returned diagnostics are the
// settings' warnings; settings with errors are a *SettingsError.
func loadProject(root, version string, lo loadOptions) (*project, error) {
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
	data := lo.settings
	if data == nil {
		if data, err = settings.ReadFile(sfile); err != nil {
			return nil, fmt.Errorf("reading settings: %w", err)
		}
	}
	s, diags := settings.ParseWith(sfile, data, GenerationEnv, settings.Options{ClientSchemas: true})
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
	p.settings, p.data = s, data
	p.opts = Options{Module: module, Version: version, SourceDir: lo.sourceDir}
	if p.manifest != nil {
		p.opts.WrittenOnce = p.manifest.WrittenOnce
	}
	if p.files, err = Render(s, data, p.opts); err != nil {
		return nil, err
	}
	return p, nil
}

// setWrittenOnce replaces the written-once entries of the manifest that
// generation will write.
func (p *project) setWrittenOnce(wo []ManifestFile) error {
	p.opts.WrittenOnce = wo
	delete(p.files, ManifestPath)
	man, err := buildManifest(p.files, p.data, p.settings, p.opts)
	if err != nil {
		return err
	}
	p.files[ManifestPath] = File{Class: Generated, Data: man}
	return nil
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

// ours reports whether rel, a file in kgen/ holding data, is one kgen
// generated (and may remove once no longer needed). A Go file is kgen's
// while it starts with Header; a file that cannot carry a comment (JSON)
// is kgen's while the manifest lists it with exactly this content.
func (m *Manifest) ours(rel string, data []byte) bool {
	if strings.HasSuffix(rel, ".go") {
		return bytes.HasPrefix(data, []byte(Header+"\n"))
	}
	h, ok := m.Lookup(rel)
	return ok && h == Hash(data)
}

// writeAtomic writes data to path through a temporary file in the same
// directory, so a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	return writeAtomicMode(path, data, 0o644)
}

// writeAtomicMode is writeAtomic giving the file mode from the start.
func writeAtomicMode(path string, data []byte, mode os.FileMode) error {
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
		werr = os.Chmod(tmp, mode)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}
