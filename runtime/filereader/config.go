package filereader

// Config configures the file reader. Path "-" reads standard input. Its
// JSON form is the settings' "config" object of the client (schema.json).
type Config struct {
	Path string `json:"file"`
	// Framing is "lines" (the default) or "length", as the file writer
	// writes them.
	Framing string `json:"framing,omitempty"`
}
