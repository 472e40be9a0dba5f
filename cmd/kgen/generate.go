package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/generator"
)

func (e *env) generateCmd() *cobra.Command {
	var dir string
	var check bool
	cmd := &cobra.Command{
		Use:   "generate [--check] [--dir DIR]",
		Short: "Regenerate a project's kgen/ from its settings.json",
		Long: `generate regenerates the files in kgen/ of the project around DIR (the
nearest directory at or above it with a go.mod) from its settings.json. It
writes only in kgen/, never opens your files for writing, and never compiles
your code, so it works while process.go is broken. "go generate ./..." runs it
through the directive in kgen/generate_gen.go.

A generated file no longer needed is removed when kgen/manifest.json lists it
and it still starts with the generated header; any other file in kgen/ stops
generation, naming the file.

--check writes nothing and exits 0 when kgen/ is up to date, else:
  3  stale: settings.json (or kgen) changed since the last generation
  4  hand-edited: a generated file differs from its hash in the manifest
  5  missing or extra: a generated file is missing, or a foreign file is in kgen/
(the first that applies, in the order 4, 5, 3), each problem on stderr with
the file and the fix.`,
		Example: `  go generate ./...            # in a project: what you usually run
  kgen generate --dir ./article-copier
  kgen generate --check        # in CI: is kgen/ up to date?`,
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
			if check {
				return e.check(root)
			}
			res, err := generator.Generate(root, kgen.Version())
			if err != nil {
				var fe *generator.ForeignFileError
				if errors.As(err, &fe) {
					return fail("%v; nothing was written", err)
				}
				return e.settingsError(err)
			}
			printSummary(e.stderr, res.Warnings)
			for _, p := range res.HandEdited {
				fmt.Fprintf(e.stderr, "kgen: %s had been edited by hand; the edits are gone (regenerated)\n", p)
			}
			if len(res.Written)+len(res.Removed) == 0 {
				fmt.Fprintf(e.stdout, "kgen: %s/ is up to date\n", generator.OwnedDir)
				return nil
			}
			for _, p := range res.Written {
				fmt.Fprintf(e.stdout, "kgen: wrote %s\n", p)
			}
			for _, p := range res.Removed {
				fmt.Fprintf(e.stdout, "kgen: removed %s (no longer generated)\n", p)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&dir, "dir", "", "`DIR` inside the project (default: the working directory)")
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; exit 3 (stale), 4 (hand-edited) or 5 (missing or extra) unless up to date")
	return cmd
}

func (e *env) check(root string) error {
	probs, diags, err := generator.Check(root, kgen.Version())
	if err != nil {
		return e.settingsError(err)
	}
	printSummary(e.stderr, diags)
	if len(probs) == 0 {
		fmt.Fprintf(e.stdout, "kgen: %s/ is up to date\n", generator.OwnedDir)
		return nil
	}
	for _, p := range probs {
		fmt.Fprintf(e.stderr, "%s: %s\n", p.Kind, p)
	}
	// Problems are sorted by kind, most serious first.
	switch probs[0].Kind {
	case generator.HandEdited:
		return &exitError{code: exitHandEdited, err: fmt.Errorf("%d problem(s) in %s/: a generated file was edited by hand", len(probs), generator.OwnedDir)}
	case generator.MissingOrExtra:
		return &exitError{code: exitMissingOrExtra, err: fmt.Errorf("%d problem(s) in %s/: files missing or not kgen's", len(probs), generator.OwnedDir)}
	}
	return &exitError{code: exitStale, err: fmt.Errorf("%d problem(s) in %s/: out of date with settings.json; run go generate ./...", len(probs), generator.OwnedDir)}
}
