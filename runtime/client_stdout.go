package runtime

import (
	_ "embed"
	"os"
)

// The "stdout" outbound client: its descriptor, defaults and settings
// schema.

//go:embed client_stdout.schema.json
var stdoutSchema []byte

// stdoutClient describes the stdout writer.
var stdoutClient = Client{
	Name:      Stdout,
	Direction: Outbound,
	Summary:   "writes outputs to standard output, as values or JSON lines",
	Schema:    stdoutSchema,
	NewConfig: func() any { return &StdoutConfig{} },
	Defaults: func(cfg any) any {
		c := stdoutDefaults(*cfg.(*StdoutConfig))
		return &c
	},
	NewSink: func(cfg any, env Env) (Sink, error) {
		return NewStdoutSink(*cfg.(*StdoutConfig), os.Stdout)
	},
}

// stdoutDefaults returns c with every zero field set to its default.
func stdoutDefaults(c StdoutConfig) StdoutConfig {
	if c.Format == "" {
		c.Format = "value"
	}
	return c
}
