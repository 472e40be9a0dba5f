package runtime

import _ "embed"

// The "file_reader" inbound client: its descriptor, defaults and settings
// schema.

//go:embed client_file_reader.schema.json
var fileReaderSchema []byte

// fileReaderClient describes the file reader.
var fileReaderClient = Client{
	Name:      FileReader,
	Direction: Inbound,
	Summary:   "replays recorded data from a file or standard input",
	Schema:    fileReaderSchema,
	NewConfig: func() any { return &FileReaderConfig{} },
	Defaults: func(cfg any) any {
		c := fileReaderDefaults(*cfg.(*FileReaderConfig))
		return &c
	},
	NewSource: func(cfg any, env Env) (Source, error) {
		return buildFileSource(env.ID, *cfg.(*FileReaderConfig), env.Logger)
	},
}

// fileReaderDefaults returns c with every zero field set to its default.
func fileReaderDefaults(c FileReaderConfig) FileReaderConfig {
	if c.Framing == "" {
		c.Framing = "lines"
	}
	return c
}
