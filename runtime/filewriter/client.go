package filewriter

import (
	_ "embed"
	"os"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// The "file_writer" outbound client: its descriptor, defaults and settings
// schema.

//go:embed schema.json
var fileWriterSchema []byte

// Name is the client's name in the settings and the registry.
const Name = "file_writer"

// Client describes the file writer.
var Client = runtime.Client{
	Name:      Name,
	Direction: runtime.Outbound,
	Summary:   "writes outputs to a file (or one file per worker), fsynced before they count as written",
	Schema:    fileWriterSchema,
	NewConfig: func() any { return &Config{} },
	Defaults: func(cfg any) any {
		c := defaults(*cfg.(*Config))
		return &c
	},
	NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
		return buildSink(*cfg.(*Config), env.Workers, env.Logger.With("client", env.ID))
	},
	Decode: decode,
}

const (
	// defaultFlushInterval bounds how long a written record waits for its
	// fsync and acknowledgement.
	defaultFlushInterval = 100 * time.Millisecond
	// defaultFileMode is the permissions of a created file when the
	// settings give none: records may hold anything, so only the
	// processor's user reads them unless file_mode says otherwise.
	defaultFileMode os.FileMode = 0o600
)

// defaults returns c with every zero field set to its default.
func defaults(c Config) Config {
	if c.Framing == "" {
		c.Framing = "lines"
	}
	if !c.Binary && c.Encoding == "" {
		// Python's default text encoding on Linux, and the only one the
		// file writer knows.
		c.Encoding = "utf-8"
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = defaultFlushInterval
	}
	if c.FileMode == 0 {
		c.FileMode = defaultFileMode
	}
	return c
}
