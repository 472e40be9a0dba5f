package runtime

import (
	_ "embed"
	"os"
	"time"
)

// The "file_writer" outbound client: its descriptor, defaults and settings
// schema.

//go:embed client_file_writer.schema.json
var fileWriterSchema []byte

// fileWriterClient describes the file writer.
var fileWriterClient = Client{
	Name:      FileWriter,
	Direction: Outbound,
	Summary:   "writes outputs to a file (or one file per worker), fsynced before they count as written",
	Schema:    fileWriterSchema,
	NewConfig: func() any { return &FileWriterConfig{} },
	Defaults: func(cfg any) any {
		c := fileWriterDefaults(*cfg.(*FileWriterConfig))
		return &c
	},
	NewSink: func(cfg any, env Env) (Sink, error) {
		return buildFileSink(*cfg.(*FileWriterConfig), env.Workers, env.Logger.With("client", env.ID))
	},
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

// fileWriterDefaults returns c with every zero field set to its default.
func fileWriterDefaults(c FileWriterConfig) FileWriterConfig {
	if c.FlushInterval <= 0 {
		c.FlushInterval = defaultFlushInterval
	}
	if c.FileMode == 0 {
		c.FileMode = defaultFileMode
	}
	return c
}
