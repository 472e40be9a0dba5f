// Package schema holds the JSON Schema of kgen's settings format, the
// single source of truth for what a settings file may contain.
//
// settings.schema.json is assembled, not edited: base.schema.json holds
// everything but the clients, and each client's part is the schema
// fragment its runtime.Client descriptor carries (runtime/<client>/
// schema.json). go test ./settings -run SchemaUpToDate -update writes it,
// and that test fails when it is out of date.
//
// The schema uses two annotations of its own, ignored by validators:
// "x-expected" says in words what a value must be (used in error
// messages instead of a description built from the keywords), and
// "x-message" replaces the whole message of an error found by the
// combinator or false schema it sits beside.
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// URL is the schema's $id.
const URL = "https://github.com/kgen-dev/kgen/schema/settings.schema.json"

//go:embed settings.schema.json
var data []byte

// JSON returns the schema document (a copy; callers may modify it).
func JSON() []byte {
	return bytes.Clone(data)
}

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("loading %s: remote schemas are not allowed", s)
	}
	if err := c.AddResource(URL, bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	s, err := c.Compile(URL)
	if err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	return s, nil
})

// Compiled returns the schema compiled for validation. It is compiled once;
// an error means the embedded schema is broken (a kgen bug, caught by the
// package's tests).
func Compiled() (*jsonschema.Schema, error) {
	return compiled()
}
