package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen/settings"
)

func printDiagnostics(w io.Writer, diags []settings.Diagnostic) {
	for _, d := range diags {
		fmt.Fprintln(w, settings.Format(d))
	}
}

func countErrors(diags []settings.Diagnostic) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == settings.Error {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

// printSummary prints diags as a reader wants them: options without
// effect named on one line (settings.Summarize).
func printSummary(w io.Writer, diags []settings.Diagnostic) {
	printDiagnostics(w, settings.Summarize(diags))
}

// report prints diags in format ("text": one line each on stderr and a
// summary on stdout, options without effect grouped unless verbose;
// "json": an array on stdout, every diagnostic) and returns the outcome.
func (e *env) report(file, format string, verbose bool, diags []settings.Diagnostic) error {
	if format == "text" && !verbose {
		diags = settings.Summarize(diags)
	}
	errs, warns := countErrors(diags)
	switch format {
	case "json":
		if diags == nil {
			diags = []settings.Diagnostic{}
		}
		b, err := json.MarshalIndent(diags, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
	case "text":
		printDiagnostics(e.stderr, diags)
		if errs == 0 {
			fmt.Fprintf(e.stdout, "%s: valid (%d warning(s))\n", file, warns)
		}
	default:
		return usage("invalid argument %q for \"--format\" flag: want text or json", format)
	}
	if errs > 0 {
		return quietOrFail(format, "%s: %d error(s), %d warning(s)", file, errs, warns)
	}
	return nil
}

// quietOrFail fails with a message in text format, silently in JSON (the
// output says it all).
func quietOrFail(format, msg string, args ...any) error {
	if format == "json" {
		return quiet(exitFailure)
	}
	return fail(msg, args...)
}

func (e *env) validateCmd() *cobra.Command {
	var file, format string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "validate [--settings] FILE",
		Short: "Check a settings file against the schema and the semantic checks",
		Long: `validate checks a settings file: the JSON Schema ("kgen schema") and the
checks a schema cannot express. It reports every problem at once, each with
file:line:col and the JSON pointer of the place. Warnings alone exit 0.`,
		Example: `  kgen validate settings.json
  kgen validate --settings settings.json --format json | jq .`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			file, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			_, diags := settings.LoadWith(file, settings.Options{ClientSchemas: true})
			return e.report(file, format, verbose, diags)
		}),
	}
	cmd.Flags().StringVar(&file, "settings", "", "settings `FILE` to check (or give FILE as the argument)")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: text or json")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list each option without effect with its reason, instead of one line naming them")
	return cmd
}

func (e *env) vetCmd() *cobra.Command {
	var file, format string
	var strict, verbose bool
	cmd := &cobra.Command{
		Use:   "vet [--settings] FILE",
		Short: "Run the semantic checks of a settings file",
		Long: `vet runs the checks a schema cannot express: duplicate client ids, routes
to unknown clients, an outbound topic that is also an inbound topic (a loop),
secrets written inline instead of from the environment, ssl_check_hostname
off, SASL credentials in clear text, metrics served on every interface, files
shared by two clients, and more. init and
generate run them too. Warnings exit 0 unless --strict.

Options that are accepted but have no effect here (kafka-python options
kafka-go has no use for, enable_listener) are named on one line; --verbose
lists each with the reason.`,
		Example: `  kgen vet settings.json
  kgen vet settings.json --verbose          # why each option has no effect
  kgen vet --settings settings.json --strict   # warnings fail too (for CI)`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			file, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			_, diags := settings.LoadWith(file, settings.Options{ClientSchemas: true})
			if err := e.report(file, format, verbose, diags); err != nil {
				return err
			}
			if _, warns := countErrors(diags); strict && warns > 0 {
				return quietOrFail(format, "%s: %d warning(s) (--strict)", file, warns)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&file, "settings", "", "settings `FILE` to check (or give FILE as the argument)")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: text or json")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on warnings too")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list each option without effect with its reason, instead of one line naming them")
	return cmd
}
