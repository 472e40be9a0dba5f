package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/generator"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// The outcomes of "kgen generate --check".
	exitStale          = 3
	exitHandEdited     = 4
	exitMissingOrExtra = 5
)

// exitError carries an exit code; its message (if any) is printed as one
// line on stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// fail is a failure (exit 1) with a message.
func fail(format string, args ...any) error {
	return &exitError{code: exitFailure, err: fmt.Errorf(format, args...)}
}

// quiet exits with code after the command printed what it had to say.
func quiet(code int) error { return &exitError{code: code} }

// usageError is a bad command line found by a command itself.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usage(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// runE adapts f to cobra: an error that is neither an *exitError nor a
// *usageError is a failure (exit 1), so that only cobra's own errors (and
// usageErrors) are usage errors.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		var xe *exitError
		var ue *usageError
		if err == nil || errors.As(err, &xe) || errors.As(err, &ue) {
			return err
		}
		return &exitError{code: exitFailure, err: err}
	}
}

// env is what commands read from the process environment; tests replace
// it.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	getwd          func() (string, error)
}

// run runs the kgen command line args and returns the exit code: 0 ok, 1
// failure, 2 usage error, 3-5 for "generate --check". Errors are printed
// on one line, never with a stack trace.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: os.Getenv, getwd: os.Getwd}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) (code int) {
	defer func() {
		// A bug must still end in one line, not a stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "kgen: internal error: %v (please report it)\n", r)
			code = exitFailure
		}
	}()
	root := e.rootCmd()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.err != nil {
			fmt.Fprintf(e.stderr, "kgen: %s\n", oneLine(xe.err.Error()))
		}
		return xe.code
	}
	// Every other error comes from cobra: flags, arguments, commands.
	fmt.Fprintf(e.stderr, "kgen: %s\n", oneLine(err.Error()))
	fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return exitUsage
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "kgen",
		Short: "Generate and maintain typed Go Kafka processors from a settings JSON",
		Long: `kgen turns a settings JSON (the kafka_project format: an inbound client, an
outbound client, workers) into a ready-to-build Go project in which you write
one function, Process. It keeps the generated code in step with the settings
for the life of the project, and never touches the code you wrote.

Exit codes: 0 ok, 1 failure, 2 usage error; "generate --check" also uses
3 (stale), 4 (hand-edited) and 5 (missing or extra files).`,
		Example: `  kgen validate settings.json
  kgen init settings.json --out ./article-copier
  cd article-copier && make test && make run`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       kgen.Version(),
	}
	root.SetVersionTemplate("kgen {{.Version}}\n")
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(e.validateCmd(), e.vetCmd(), e.initCmd(), e.generateCmd(), e.schemaCmd(), e.versionCmd(), e.migrateCmd(), e.upgradeCmd(), e.topicsCmd())
	return root
}

// settingsError reports a *generator.SettingsError's diagnostics and
// turns it into a failure.
func (e *env) settingsError(err error) error {
	var se *generator.SettingsError
	if errors.As(err, &se) {
		printSummary(e.stderr, se.Diagnostics)
		return fail("%s: invalid settings", se.File)
	}
	return err
}
