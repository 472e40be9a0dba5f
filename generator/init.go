package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// ErrNotEmpty is returned by WriteNew for a directory that holds files,
// unless forced.
var ErrNotEmpty = errors.New("directory is not empty")

// InitResult says what WriteNew wrote.
type InitResult struct {
	Dir string
	// Written are every file written; Replaced those that existed before
	// (with force).
	Written, Replaced []string
}

// WriteNew writes files as a new project in dir, all or nothing: they are
// written into a temporary directory beside dir first, which then becomes
// dir. dir must be missing or empty unless force is set. Into an existing
// directory the files move one rename each, and everything is put back if
// one fails; with force, they replace files of the same name, and other
// files in dir are left as they are.
func WriteNew(dir string, files Files, force bool) (*InitResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(abs)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if exists && len(entries) > 0 && !force {
		return nil, fmt.Errorf("%s: %w (use --force to write into it anyway)", dir, ErrNotEmpty)
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".kgen-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		mode := files[p].Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(dst, files[p].Data, mode); err != nil {
			return nil, err
		}
	}
	res := &InitResult{Dir: abs, Written: paths}
	if !exists {
		if err := os.Rename(tmp, abs); err != nil {
			return nil, err
		}
		return res, nil
	}
	// An existing directory stays (it may be someone's working
	// directory): the files move in one by one, undone on a failure.
	res.Replaced, err = moveInto(tmp, abs, paths)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// moveInto renames each of paths from src into dst, keeping what it
// replaces in a backup beside dst until all are in place; on a failure it
// puts everything back. It returns the paths that replaced a file.
func moveInto(src, dst string, paths []string) (replaced []string, err error) {
	backup, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".kgen-backup-*")
	if err != nil {
		return nil, err
	}
	var placed, saved, madeDirs []string
	defer func() {
		if err == nil {
			os.RemoveAll(backup)
			return
		}
		for i := len(placed) - 1; i >= 0; i-- {
			os.Remove(filepath.Join(dst, placed[i]))
		}
		for _, p := range saved {
			os.Rename(filepath.Join(backup, p), filepath.Join(dst, p))
		}
		for i := len(madeDirs) - 1; i >= 0; i-- {
			os.Remove(madeDirs[i]) // only if empty
		}
		os.RemoveAll(backup)
	}()
	for _, p := range paths {
		rel := filepath.FromSlash(p)
		target := filepath.Join(dst, rel)
		d := filepath.Dir(target)
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
			madeDirs = append(madeDirs, d)
		}
		if fi, err := os.Lstat(target); err == nil {
			if fi.IsDir() {
				return nil, fmt.Errorf("%s: is a directory, where the project has a file", target)
			}
			if err := os.MkdirAll(filepath.Join(backup, filepath.Dir(rel)), 0o755); err != nil {
				return nil, err
			}
			if err := os.Rename(target, filepath.Join(backup, rel)); err != nil {
				return nil, err
			}
			saved = append(saved, rel)
			replaced = append(replaced, p)
		}
		if err := os.Rename(filepath.Join(src, rel), target); err != nil {
			return nil, err
		}
		placed = append(placed, rel)
	}
	return replaced, nil
}
