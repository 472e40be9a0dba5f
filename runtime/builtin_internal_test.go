package runtime

import (
	"encoding/json"
	"testing"
)

// builtinSink builds the registered outbound client name (a built-in,
// registered by builtin_test.go's import of runtime/builtin) as Run does:
// its settings config cfg decoded, checked against its schema and
// defaulted.
func builtinSink(tb testing.TB, name string, cfg map[string]any, workers int) Sink {
	tb.Helper()
	c, cc, err := clientConfig(Outbound, "out", name, fileConfig(cfg), quietLogger())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := c.NewSink(cc, Env{ID: "out", Workers: workers, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// fileConfig is cfg as a client's raw settings config.
func fileConfig(cfg map[string]any) json.RawMessage {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return b
}
