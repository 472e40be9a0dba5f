// Package app is the entry point of every generated processor: flags,
// logging, the settings to run with (compiled in, or a --settings file of
// the same shape), signals, and runtime.Run. It lives in kgen's module, not
// in generated code, so it improves with the runtime instead of being
// copied into every project.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/settings"
)

// Options is what a generated processor knows about itself.
type Options struct {
	// Shape is settings.Shape of the settings the code was generated
	// from; a --settings file of another shape is refused.
	Shape string
	// GeneratorVersion is the kgen version that generated the code.
	GeneratorVersion string
	// Defaults returns the compiled configuration (it reads ${VAR}s, so
	// it is called when the processor starts).
	Defaults func() runtime.Config
	// LogLevel and LogFormat are the compiled log settings.
	LogLevel, LogFormat string
	// Handler runs the user's Process.
	Handler runtime.Handler
	// Settings, when not empty, is the compiled-in settings as
	// settings.StartCheck returns them: running without --settings, they
	// are parsed with the environment first, so that an unset ${VAR}, or a
	// value that makes the settings invalid, is refused by name as
	// --settings FILE refuses it (Defaults would read "" instead).
	Settings string
}

// Main runs the processor and exits. Flags:
//
//	--settings FILE     run with FILE instead of the compiled settings; it must
//	                    have the shape the code was generated from
//	--log-level LEVEL   debug, info, warn or error
//	--log-format FORMAT text or json
//	--check-settings    check the settings (FILE's, or the compiled ones) and
//	                    exit: 0 when the processor can run with them
//
// SIGINT or SIGTERM shuts down gracefully; a second one exits at once with
// status 130. The exit status is 0 after a clean stop, 1 on failure, 2 on a
// bad command line.
func Main(o Options) {
	os.Exit(Run(os.Args[1:], os.Stderr, o))
}

// Run is Main without the exit: it returns the exit status.
func Run(args []string, stderr io.Writer, o Options) int {
	fs := flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)
	fs.SetOutput(stderr)
	settingsFile := fs.String("settings", "", "settings `FILE` to run with (default: the settings compiled in)")
	logLevel := fs.String("log-level", "", "log `LEVEL`: debug, info, warn or error (default: the settings' log level)")
	logFormat := fs.String("log-format", "", "log `FORMAT`: text or json (default: the settings' log format)")
	checkOnly := fs.Bool("check-settings", false, "check the settings and exit without running (0: the processor can run with them)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, level, format, err := loadConfig(*settingsFile, stderr, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *checkOnly {
		if err := cfg.Validate(); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintln(stderr, "settings ok: the processor can run with them")
		return 0
	}
	if *logLevel != "" {
		level = *logLevel
	}
	if *logFormat != "" {
		format = *logFormat
	}
	logger, err := newLogger(stderr, level, format)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	slog.SetDefault(logger)
	cfg.Logger = logger
	logger.Info("starting", "component", "main", "kgen_version", o.GeneratorVersion, "runtime_version", runtime.Version, "runtime_api", runtime.APIVersion, "settings", *settingsFile)

	// Register for the second signal before the first can arrive.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	go exitOnSecondSignal(sigs, done, logger)

	if err := runtime.Run(ctx, cfg, o.Handler); err != nil {
		logger.Error("stopped", "component", "main", "err", err)
		return 1
	}
	logger.Info("stopped", "component", "main")
	return 0
}

// exitOnSecondSignal exits at once with status 130 on the second signal from
// sigs; the first one shuts down gracefully through the run's context. It
// returns when done is closed.
func exitOnSecondSignal(sigs <-chan os.Signal, done <-chan struct{}, logger *slog.Logger) {
	for n := 0; ; {
		select {
		case <-done:
			return
		case sig := <-sigs:
			n++
			if n == 1 {
				logger.Info("shutting down", "component", "main", "signal", sig.String())
				continue
			}
			logger.Error("second signal: exiting at once", "component", "main", "signal", sig.String())
			os.Exit(130)
		}
	}
}

// loadConfig returns the configuration and log settings to run with: the
// compiled ones, or those of file, which must be valid and have the shape the
// code was generated from. It prints file's diagnostics on stderr.
func loadConfig(file string, stderr io.Writer, o Options) (runtime.Config, string, string, error) {
	if file == "" {
		if o.Settings != "" {
			const name = "compiled-in settings"
			s, diags := settings.Parse(name, []byte(o.Settings), os.LookupEnv)
			invalid := s == nil
			for _, d := range diags {
				if d.Severity == settings.Error { // warnings were shown at generation
					fmt.Fprintln(stderr, settings.Format(d))
					invalid = true
				}
			}
			if invalid {
				return runtime.Config{}, "", "", fmt.Errorf("%s: invalid with this environment (set the variables, or run with --settings FILE)", name)
			}
		}
		return o.Defaults(), o.LogLevel, o.LogFormat, nil
	}
	s, diags := settings.Load(file)
	invalid := s == nil
	for _, d := range diags {
		fmt.Fprintln(stderr, settings.Format(d))
		if d.Severity == settings.Error {
			invalid = true
		}
	}
	if invalid {
		err := fmt.Errorf("%s: invalid settings", file)
		return runtime.Config{}, "", "", err
	}
	if shape := settings.Shape(s); shape != o.Shape {
		at := settings.ShapeDiff(o.Shape, shape)
		if at == "" {
			at = "/"
		}
		err := fmt.Errorf("%s: settings changed since code generation: run go generate (first difference at %s)", file, at)
		return runtime.Config{}, "", "", err
	}
	level, format := s.LogLevel, s.LogFormat
	if level == "" {
		level = o.LogLevel
	}
	if format == "" {
		format = o.LogFormat
	}
	return s.Runtime, level, format, nil
}

// newLogger returns the logger for level and format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
