package generator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/kgen-dev/kgen"
)

// SourceDir is the kgen source checkout generated projects point their
// go.mod at; set it at link time with
// -ldflags "-X github.com/kgen-dev/kgen/generator.SourceDir=/path".
var SourceDir string

// ErrNoSource is returned by FindSource for a development build whose
// source checkout cannot be found.
var ErrNoSource = errors.New("this kgen is a development build and its source checkout is unknown: pass --kgen-source DIR or set KGEN_SOURCE")

// FindSource returns the kgen source checkout a new project should use
// through a replace directive, or "" when the project should require the
// released kgen version instead. In order: flagDir (--kgen-source), the
// environment variable KGEN_SOURCE, SourceDir, and, for a development
// build, a checkout found above the executable, the working directory or
// this source file.
func FindSource(flagDir string, getenv func(string) string) (string, error) {
	for _, d := range []string{flagDir, getenv("KGEN_SOURCE"), SourceDir} {
		if d == "" {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", err
		}
		if !isCheckout(abs) {
			return "", fmt.Errorf("%s: not a kgen source checkout (no go.mod with module %s)", d, kgen.Module)
		}
		return abs, nil
	}
	if kgen.IsRelease(kgen.Version()) {
		return "", nil
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			if isCheckout(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", ErrNoSource
}

// isCheckout reports whether dir holds kgen's go.mod.
func isCheckout(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	m, err := ModulePath(b)
	return err == nil && m == kgen.Module && !strings.Contains(dir, string(filepath.Separator)+"testdata"+string(filepath.Separator))
}
