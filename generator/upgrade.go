package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/settings"
)

// NewSuffix is appended to a written-once file's name for the content the
// running kgen would write for it, when that changed since the project's
// kgen wrote it.
const NewSuffix = ".kgen-new"

// notOffered are the written-once files Upgrade never offers anew:
// settings.json is the user's input (Upgrade migrates it instead), and
// go.mod and go.sum are updated in place, line by line.
var notOffered = map[string]bool{SettingsFile: true, "go.mod": true, "go.sum": true}

// UpgradeOptions are the inputs of Upgrade.
type UpgradeOptions struct {
	// Version is the kgen version to move the project to.
	Version string
	// SourceDir is the kgen source checkout go.mod should replace kgen
	// with; empty means the published module at Version.
	SourceDir string
	// GoMod and GoSum are kgen's own go.mod and go.sum (default: the
	// embedded ones).
	GoMod, GoSum []byte
}

// UpgradeResult says what Upgrade did.
type UpgradeResult struct {
	Root string
	// From is the kgen version that last generated the project (from the
	// manifest; "" when it has none), To the one it was moved to.
	From, To string
	// Settings is settings.json before and after migration; Migrated says
	// whether it was rewritten.
	SettingsBefore, SettingsAfter []byte
	Migrated                      bool
	// GoMod lists the changes made to go.mod, and GoSumAdded the number
	// of lines added to go.sum.
	GoMod      []string
	GoSumAdded int
	// Generate is what regeneration did.
	Generate *GenerateResult
	// Offers are the written-once files whose template changed.
	Offers []Offer
}

// Offer is a written-once file whose content as the running kgen would
// write it differs from what the project's kgen wrote: Upgrade wrote New
// to NewPath beside the user's file, which it left alone.
type Offer struct {
	Path, NewPath string
	// Current is the user's file (nil when it does not exist), New what
	// this kgen writes.
	Current, New []byte
	// Unedited says the user's file is still what kgen wrote at init, so
	// taking NewPath loses nothing.
	Unedited bool
}

// Upgrade moves the project at root to the kgen of opts: it migrates
// settings.json to the current settings format, updates go.mod's kgen
// requirement and replace directive (and kgen's own requirements and
// checksums where the project's are older), regenerates kgen/, and for
// each written-once file whose template changed writes FILE.kgen-new
// beside it. It never overwrites a written-once file other than go.mod,
// go.sum and settings.json, and never compiles the user's code (Verify
// does). Everything that can be checked is checked before anything is
// written: settings with errors are a *SettingsError, a foreign file in
// kgen/ a *ForeignFileError.
func Upgrade(ctx context.Context, root string, opts UpgradeOptions) (*UpgradeResult, error) {
	if opts.GoMod == nil {
		opts.GoMod = kgen.GoMod
	}
	if opts.GoSum == nil {
		opts.GoSum = kgen.GoSum
	}
	res := &UpgradeResult{Root: root, To: opts.Version}
	sfile := filepath.Join(root, SettingsFile)
	before, err := settings.ReadFile(sfile)
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	after, migrated, err := settings.Migrate(before)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sfile, err)
	}
	res.SettingsBefore, res.SettingsAfter, res.Migrated = before, after, migrated

	p, err := loadProject(root, opts.Version, loadOptions{settings: after, sourceDir: opts.SourceDir})
	if err != nil {
		return nil, err
	}
	if p.manifest != nil {
		res.From = p.manifest.KgenVersion
	}
	if _, err := p.stale(); err != nil {
		return nil, err
	}
	offers, wo, err := p.offers()
	if err != nil {
		return nil, err
	}
	if err := p.setWrittenOnce(wo); err != nil {
		return nil, err
	}
	edits, err := goModEdits(ctx, root, opts)
	if err != nil {
		return nil, err
	}
	sum, added, err := mergeGoSum(filepath.Join(root, "go.sum"), opts.GoSum)
	if err != nil {
		return nil, err
	}

	// Now write: settings, go.mod and go.sum, kgen/, the offers.
	if migrated {
		if err := writeKeepMode(sfile, after); err != nil {
			return res, err
		}
	}
	if len(edits) > 0 {
		args := []string{"mod", "edit"}
		for _, e := range edits {
			args = append(args, e.flag)
			res.GoMod = append(res.GoMod, e.what)
		}
		if out, err := goTool(ctx, root, args...); err != nil {
			return res, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	if added > 0 {
		if err := writeKeepMode(filepath.Join(root, "go.sum"), sum); err != nil {
			return res, err
		}
		res.GoSumAdded = added
	}
	if res.Generate, err = p.generate(); err != nil {
		return res, err
	}
	for _, o := range offers {
		if err := writeAtomic(filepath.Join(root, filepath.FromSlash(o.NewPath)), o.New); err != nil {
			return res, err
		}
	}
	res.Offers = offers
	return res, nil
}

// offers compares each written-once file as this kgen renders it with the
// hash the manifest recorded when kgen wrote it, and returns the files to
// offer anew and the written-once entries of the new manifest: an offered
// file is recorded with its new hash, so the same template change is
// offered once.
func (p *project) offers() ([]Offer, []ManifestFile, error) {
	recorded := map[string]string{}
	if p.manifest != nil {
		for _, f := range p.manifest.WrittenOnce {
			recorded[f.Path] = f.SHA256
		}
	}
	var offers []Offer
	var wo []ManifestFile
	seen := map[string]bool{}
	for _, rel := range p.files.Paths(WrittenOnce) {
		seen[rel] = true
		want := p.files[rel].Data
		h := Hash(want)
		old, listed := recorded[rel]
		if notOffered[rel] {
			if !listed {
				old = h
			}
			wo = append(wo, ManifestFile{Path: rel, SHA256: old})
			continue
		}
		cur, err := os.ReadFile(filepath.Join(p.root, filepath.FromSlash(rel)))
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		switch {
		case listed && old == h:
			// The template did not change.
		case listed && !exists:
			// The user deleted the file: keep it that way.
			h = old
		case exists && bytes.Equal(cur, want):
			// The user's file already is what this kgen writes.
		default:
			offers = append(offers, Offer{
				Path: rel, NewPath: rel + NewSuffix,
				Current: cur, New: want,
				Unedited: exists && listed && Hash(cur) == old,
			})
		}
		wo = append(wo, ManifestFile{Path: rel, SHA256: h})
	}
	// Files this kgen no longer writes keep their record.
	if p.manifest != nil {
		for _, f := range p.manifest.WrittenOnce {
			if !seen[f.Path] {
				wo = append(wo, f)
			}
		}
	}
	sortManifestFiles(wo)
	return offers, wo, nil
}

// goModEdit is one "go mod edit" flag and what it does, for the summary.
type goModEdit struct{ flag, what string }

// goModEdits returns the edits that point the project's go.mod at the
// kgen of opts: kgen's requirement and replace directive, and kgen's own
// requirements wherever the project requires an older version (the
// build would otherwise need to update go.mod).
func goModEdits(ctx context.Context, root string, opts UpgradeOptions) ([]goModEdit, error) {
	out, err := goTool(ctx, root, "mod", "edit", "-json")
	if err != nil {
		return nil, fmt.Errorf("reading go.mod: %v: %s", err, bytes.TrimSpace(out))
	}
	var gm struct {
		Require []struct{ Path, Version string }
		Replace []struct {
			Old struct{ Path, Version string }
			New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(out, &gm); err != nil {
		return nil, fmt.Errorf("reading go.mod: %w", err)
	}
	have := map[string]string{}
	for _, r := range gm.Require {
		have[r.Path] = r.Version
	}
	replace := ""
	for _, r := range gm.Replace {
		if r.Old.Path == kgen.Module {
			replace = r.New.Path
			if r.New.Version != "" {
				replace += " " + r.New.Version
			}
		}
	}
	var edits []goModEdit
	if opts.SourceDir != "" {
		if _, ok := have[kgen.Module]; !ok {
			edits = append(edits, goModEdit{"-require=" + kgen.Module + "@" + develVersion, "require " + kgen.Module + " " + develVersion})
		}
		if replace != opts.SourceDir {
			what := "replace " + kgen.Module + " => " + opts.SourceDir
			if replace != "" {
				what += " (was " + replace + ")"
			}
			edits = append(edits, goModEdit{"-replace=" + kgen.Module + "=" + opts.SourceDir, what})
		}
	} else {
		if v := have[kgen.Module]; v != opts.Version {
			what := "require " + kgen.Module + " " + opts.Version
			if v != "" {
				what += " (was " + v + ")"
			}
			edits = append(edits, goModEdit{"-require=" + kgen.Module + "@" + opts.Version, what})
		}
		if replace != "" {
			edits = append(edits, goModEdit{"-dropreplace=" + kgen.Module, "drop replace " + kgen.Module + " => " + replace})
		}
	}
	own, err := parseGoMod(opts.GoMod)
	if err != nil {
		return nil, fmt.Errorf("kgen's go.mod: %w", err)
	}
	for _, r := range own.Requires {
		v, ok := have[r.Path]
		if r.Path == kgen.Module || (ok && compareVersions(v, r.Version) >= 0) {
			continue
		}
		what := "require " + r.Path + " " + r.Version
		if ok {
			what += " (was " + v + ")"
		}
		edits = append(edits, goModEdit{"-require=" + r.Path + "@" + r.Version, what})
	}
	return edits, nil
}

// mergeGoSum returns the go.sum at path with the lines of kgen's go.sum it
// lacks appended, and how many it added.
func mergeGoSum(path string, kgenSum []byte) ([]byte, int, error) {
	sum, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(sum), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	out := bytes.Clone(sum)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	added := 0
	for _, l := range strings.Split(string(kgenSum), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || have[l] {
			continue
		}
		have[l] = true
		out = append(out, l+"\n"...)
		added++
	}
	return out, added, nil
}

// compareVersions compares two module versions (semantic versions,
// pseudo-versions included) as the go command orders them, closely
// enough for the versions of go.mod files: by major, minor and patch
// number, then a release above its pre-releases, then the pre-release
// text.
func compareVersions(a, b string) int {
	pa, pb := splitVersion(a), splitVersion(b)
	for i := range 3 {
		if pa.num[i] != pb.num[i] {
			if pa.num[i] < pb.num[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa.pre == pb.pre:
		return 0
	case pa.pre == "":
		return 1
	case pb.pre == "":
		return -1
	}
	return strings.Compare(pa.pre, pb.pre)
}

type version struct {
	num [3]int
	pre string
}

func splitVersion(v string) version {
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+")
	var out version
	v, out.pre, _ = strings.Cut(v, "-")
	for i, f := range strings.SplitN(v, ".", 3) {
		out.num[i], _ = strconv.Atoi(f)
	}
	return out
}

// writeKeepMode replaces path with data atomically, keeping its
// permissions.
func writeKeepMode(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return writeAtomicMode(path, data, mode)
}

// goTool runs the go command in dir and returns its combined output.
func goTool(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// Step is one command Verify ran.
type Step struct {
	Args     []string
	Output   []byte
	Err      error
	Duration time.Duration
}

func (s Step) String() string { return "go " + strings.Join(s.Args, " ") }

// Verify builds, vets and tests the project at root (go build ./...,
// go vet ./..., go test ./...), stopping at the first failure. The go
// command runs with the caller's environment: with go.mod pointing at a
// kgen source checkout or a module in the module cache, nothing needs the
// network.
func Verify(ctx context.Context, root string) []Step {
	var steps []Step
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "./..."}} {
		start := time.Now()
		out, err := goTool(ctx, root, args...)
		steps = append(steps, Step{Args: args, Output: out, Err: err, Duration: time.Since(start)})
		if err != nil {
			break
		}
	}
	return steps
}
