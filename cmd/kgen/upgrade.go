package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/generator"
	"github.com/kgen-dev/kgen/settings"
)

func (e *env) upgradeCmd() *cobra.Command {
	var dir, source string
	var noVerify bool
	cmd := &cobra.Command{
		Use:   "upgrade [--dir DIR]",
		Short: "Move a project to this kgen: migrate, regenerate, build, vet and test",
		Long: `upgrade moves the project around DIR (the nearest directory at or above it
with a go.mod) to this kgen:

  1. migrates settings.json to the current settings format (as
     "kgen migrate --write" does);
  2. points go.mod at this kgen (its requirement, and the replace directive
     of a source checkout) and raises kgen's own requirements and checksums
     where the project's are older;
  3. regenerates kgen/;
  4. where kgen's template for one of your files (process.go, its test, the
     README, ...) changed since kgen wrote it, writes FILE.kgen-new beside it
     and shows the difference: your file is never overwritten;
  5. runs go build ./..., go vet ./... and go test ./... (skip with
     --no-verify), then prints a summary.

Nothing is written when the settings are invalid or kgen/ holds a file kgen
does not own. Exit 0 when the project builds, vets and passes its tests.`,
		Example: `  kgen upgrade                      # in the project
  go run github.com/kgen-dev/kgen/cmd/kgen@v1.2.0 upgrade
  kgen upgrade --dir ./article-copier --no-verify`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				wd, err := e.getwd()
				if err != nil {
					return err
				}
				dir = wd
			}
			root, err := generator.FindRoot(dir)
			if err != nil {
				return err
			}
			src, err := generator.FindSource(source, e.getenv)
			if err != nil {
				return err
			}
			res, err := generator.Upgrade(cmd.Context(), root, generator.UpgradeOptions{Version: kgen.Version(), SourceDir: src})
			if err != nil {
				var fe *generator.ForeignFileError
				if errors.As(err, &fe) {
					return fail("%v; nothing was written", err)
				}
				if res == nil {
					return e.settingsError(err)
				}
				return fail("upgrade stopped part way: %v", err)
			}
			e.printUpgrade(res)
			if noVerify {
				fmt.Fprintln(e.stdout, "  build, vet, test: skipped (--no-verify)")
				return e.upgradeDone(res)
			}
			for _, s := range generator.Verify(cmd.Context(), root) {
				if s.Err != nil {
					fmt.Fprintf(e.stdout, "  %-16s FAILED (%s)\n", s, s.Duration.Round(time.Millisecond))
					fmt.Fprintf(e.stderr, "%s", indent(string(s.Output)))
					return fail("%s failed after the upgrade; fix the project (see above and any %s files) and run it again", s, generator.NewSuffix)
				}
				fmt.Fprintf(e.stdout, "  %-16s ok (%s)\n", s, s.Duration.Round(time.Millisecond))
			}
			return e.upgradeDone(res)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "`DIR` inside the project (default: the working directory)")
	f.BoolVar(&noVerify, "no-verify", false, "do not build, vet and test the project afterwards")
	f.StringVar(&source, "kgen-source", "", "kgen source checkout `DIR` for go.mod's replace directive (default: found automatically, or $KGEN_SOURCE)")
	return cmd
}

// maxSettingsDiff is the longest diff of the migrated settings the summary
// shows.
const maxSettingsDiff = 30

func (e *env) printUpgrade(res *generator.UpgradeResult) {
	w := e.stdout
	from := res.From
	if from == "" {
		from = "unknown"
	}
	fmt.Fprintf(w, "kgen upgrade %s: kgen %s -> %s\n", res.Root, from, res.To)
	printSummary(e.stderr, res.Generate.Warnings)
	if res.Migrated {
		d := unifiedDiff("settings.json", "settings.json (migrated)", string(res.SettingsBefore), string(res.SettingsAfter))
		if n := strings.Count(d, "\n"); n > maxSettingsDiff {
			fmt.Fprintf(w, "  settings.json    migrated to settings version %d (a diff of %d lines, not shown)\n", settings.CurrentVersion, n)
		} else {
			fmt.Fprintf(w, "  settings.json    migrated to settings version %d:\n", settings.CurrentVersion)
			fmt.Fprint(w, indent(d))
		}
	} else {
		fmt.Fprintf(w, "  settings.json    already at settings version %d\n", settings.CurrentVersion)
	}
	if len(res.GoMod) == 0 {
		fmt.Fprintln(w, "  go.mod           already points at this kgen")
	}
	for _, c := range res.GoMod {
		fmt.Fprintf(w, "  go.mod           %s\n", c)
	}
	if res.GoSumAdded > 0 {
		fmt.Fprintf(w, "  go.sum           added %d checksum(s) kgen needs\n", res.GoSumAdded)
	}
	g := res.Generate
	switch {
	case len(g.Written)+len(g.Removed) == 0:
		fmt.Fprintf(w, "  %-16s up to date\n", generator.OwnedDir+"/")
	default:
		fmt.Fprintf(w, "  %-16s regenerated: %d file(s) written, %d removed\n", generator.OwnedDir+"/", len(g.Written), len(g.Removed))
	}
	for _, p := range g.HandEdited {
		fmt.Fprintf(w, "  %-16s had been edited by hand; the edits are gone (regenerated)\n", p)
	}
	if len(res.Offers) == 0 {
		fmt.Fprintln(w, "  your files       no template changed; nothing to merge")
	}
	for _, o := range res.Offers {
		switch {
		case o.Current == nil:
			fmt.Fprintf(w, "  %-16s new in this kgen's scaffold: wrote %s (create %s from it if you want it)\n", o.Path, o.NewPath, o.Path)
			continue
		case o.Unedited:
			fmt.Fprintf(w, "  %-16s template changed and you had not edited the file: wrote %s; take it with mv %s %s\n", o.Path, o.NewPath, o.NewPath, o.Path)
		default:
			fmt.Fprintf(w, "  %-16s template changed: wrote %s beside your file (untouched); merge what you want, then delete it\n", o.Path, o.NewPath)
		}
		fmt.Fprint(w, indent(unifiedDiff(o.Path, o.NewPath, string(o.Current), string(o.New))))
	}
}

func (e *env) upgradeDone(res *generator.UpgradeResult) error {
	fmt.Fprintf(e.stdout, "Upgraded %s to kgen %s.", res.Root, res.To)
	if n := len(res.Offers); n > 0 {
		fmt.Fprintf(e.stdout, " Review the %d %s file(s) above.", n, generator.NewSuffix)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// indent indents every line of s by four spaces.
func indent(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString("    " + l)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}
