package filereader

import (
	_ "embed"

	"github.com/kgen-dev/kgen/runtime"
)

// The "file_reader" inbound client: its descriptor, defaults and settings
// schema.

//go:embed schema.json
var fileReaderSchema []byte

// Name is the client's name in the settings and the registry.
const Name = "file_reader"

// Client describes the file reader.
var Client = runtime.Client{
	Name:      Name,
	Direction: runtime.Inbound,
	Summary:   "replays recorded data from a file or standard input",
	Schema:    fileReaderSchema,
	NewConfig: func() any { return &Config{} },
	Defaults: func(cfg any) any {
		c := defaults(*cfg.(*Config))
		return &c
	},
	NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
		return buildSource(env.ID, *cfg.(*Config), env.Logger)
	},
}

// defaults returns c with every zero field set to its default.
func defaults(c Config) Config {
	if c.Framing == "" {
		c.Framing = "lines"
	}
	return c
}
