package stdout

// Config configures the stdout writer. Its JSON form is the settings'
// "config" object of the client (schema.json).
type Config struct {
	// Format is "value" (the value and a newline) or "json" (one JSON
	// object per record with key, value and headers).
	Format string `json:"format,omitempty"`
}
