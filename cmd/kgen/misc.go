package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/schema"
	"github.com/kgen-dev/kgen/settings"
)

func (e *env) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the settings JSON Schema",
		Long: `schema prints the JSON Schema of the settings format, the single source of
truth for what a settings file may hold. Point an editor at it, or write
"$schema" in a settings file.`,
		Example: `  kgen schema > settings.schema.json`,
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			b := schema.JSON()
			if _, err := e.stdout.Write(b); err != nil {
				return err
			}
			if len(b) > 0 && b[len(b)-1] != '\n' {
				fmt.Fprintln(e.stdout)
			}
			return nil
		}),
	}
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print kgen's version and the runtime API version",
		Example: `  kgen version`,
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(e.stdout, "kgen %s\nruntime API %d\nsettings version %d\n", kgen.Version(), runtime.APIVersion, settings.CurrentVersion)
			return nil
		}),
	}
}

func (e *env) migrateCmd() *cobra.Command {
	var file string
	var diff, write bool
	cmd := &cobra.Command{
		Use:   "migrate [--settings] FILE [--diff|--write]",
		Short: "Turn settings in an older format into the current one",
		Long: `migrate rewrites a settings file in the current settings format (a file
without "settings_version" is the seed's format, version 1). It prints the
migrated settings on stdout; --diff prints a diff instead; --write replaces
FILE. A file that is already current is left alone.

The migration edits the file's text in place: the "settings_version" line is
inserted and every other line is kept as you wrote it, so the diff is one
line.`,
		Example: `  kgen migrate settings.json --diff
  kgen migrate --settings settings.json --write && go generate ./...`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			file, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			if diff && write {
				return usage("--diff and --write cannot be used together")
			}
			data, err := settings.ReadFile(file)
			if err != nil {
				return fail("reading settings: %v", err)
			}
			out, changed, err := settings.Migrate(data)
			if err != nil {
				return fail("%s: %v", file, err)
			}
			if !changed {
				fmt.Fprintf(e.stderr, "kgen: %s is already at settings version %d; nothing to migrate\n", file, settings.CurrentVersion)
				if !diff && !write {
					_, err := e.stdout.Write(data)
					return err
				}
				return nil
			}
			switch {
			case diff:
				fmt.Fprint(e.stdout, unifiedDiff(file, file+" (migrated)", string(data), string(out)))
			case write:
				if err := writeFileAtomic(file, out); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "kgen: migrated %s to settings version %d\n", file, settings.CurrentVersion)
			default:
				_, err := e.stdout.Write(out)
				return err
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&file, "settings", "", "settings `FILE` to migrate (or give FILE as the argument)")
	cmd.Flags().BoolVar(&diff, "diff", false, "print a diff of the migration instead of the migrated file")
	cmd.Flags().BoolVar(&write, "write", false, "replace FILE with the migrated settings")
	return cmd
}

// writeFileAtomic replaces path with data, keeping its permissions.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".kgen-migrate-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
