package stdout

import (
	_ "embed"
	"os"

	"github.com/kgen-dev/kgen/runtime"
)

// The "stdout" outbound client: its descriptor, defaults and settings
// schema.

//go:embed schema.json
var stdoutSchema []byte

// Name is the client's name in the settings and the registry.
const Name = "stdout"

// Client describes the stdout writer.
var Client = runtime.Client{
	Name:      Name,
	Direction: runtime.Outbound,
	Summary:   "writes outputs to standard output, as values or JSON lines",
	Schema:    stdoutSchema,
	NewConfig: func() any { return &Config{} },
	Defaults: func(cfg any) any {
		c := defaults(*cfg.(*Config))
		return &c
	},
	NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
		return NewSink(*cfg.(*Config), os.Stdout)
	},
}

// defaults returns c with every zero field set to its default.
func defaults(c Config) Config {
	if c.Format == "" {
		c.Format = "value"
	}
	return c
}
