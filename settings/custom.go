package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kgen-dev/kgen/runtime/configjson"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// A custom client ("custom": true) is a client of the user's own, written
// in their project and registered there with runtime.Register: kgen cannot
// see its code. Its config goes to the runtime as JSON (json.RawMessage),
// which decodes it onto the registered client's config type and checks it
// against the client's schema when the processor starts. kgen checks it
// beforehand only when the settings name the client's JSON Schema file
// (config_schema) and the parse asks for it (Options.ClientSchemas).

// custom returns the config of the custom client d at ptr as JSON, after
// checking it against d's config_schema when opts ask for it. Strings
// holding a ${VAR} are resolved (or, with kgen's generation environment,
// left as markers that generated code reads from the environment).
func (cx *converter) custom(ptr string, d clientDoc) json.RawMessage {
	cfg := d.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	raw, err := json.Marshal(cfg)
	if err != nil { // cannot happen: a decoded JSON tree
		cx.errorf(ptr+"/config", "encoding: %v", err)
		return nil
	}
	cx.inlineSecrets(ptr+"/config", cfg)
	if !cx.opts.ClientSchemas {
		return raw
	}
	if d.ConfigSchema == "" {
		cx.warnf(ptr+"/custom", "kgen does not check the config of custom client %q: it cannot see the client's code; name the client's JSON Schema file in config_schema to check it now (the processor checks it against the registered client's schema when it starts)", d.Name)
		return raw
	}
	cx.checkClientSchema(ptr, d.ConfigSchema, cfg)
	return raw
}

// checkClientSchema checks cfg, the config of the client at ptr, against
// the JSON Schema file at path (relative to the settings file), reporting
// each problem at its place in the config.
func (cx *converter) checkClientSchema(ptr, path string, cfg any) {
	at := ptr + "/config_schema"
	file := path
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(cx.file), file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		cx.errorf(at, "reading the client's schema %q: %v", file, err)
		return
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		cx.errorf(at, "%q is not JSON: %v", file, err)
		return
	}
	sch, err := compileClientSchema(file, data)
	if err != nil {
		cx.errorf(at, "%q is not a valid JSON Schema: %v", file, err)
		return
	}
	err = sch.Validate(cfg)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		cx.errorf(ptr+"/config", "%v", err)
		return
	}
	// The translator works on the config alone: pointers relative to it.
	base := ptr + "/config"
	t := translator{doc: doc, instance: cfg, seen: map[string]bool{},
		deferred: relative(cx.deferred, base), written: relative(cx.written, base)}
	t.walk(ve)
	for _, p := range t.diags {
		p.Pointer = base + p.Pointer
		cx.diags = append(cx.diags, p)
	}
}

// compileClientSchema compiles a client's schema file; it may refer to
// files beside it, never to the network.
func compileClientSchema(file string, data []byte) (*jsonschema.Schema, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		pu, err := url.Parse(s)
		if err != nil || pu.Scheme != "file" {
			return nil, fmt.Errorf("loading %s: only files beside the schema may be referred to", s)
		}
		return os.Open(filepath.FromSlash(pu.Path))
	}
	if err := c.AddResource(u, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return c.Compile(u)
}

// relative returns the entries of m under base, keyed relative to it.
func relative[V any](m map[string]V, base string) map[string]V {
	out := map[string]V{}
	for k, v := range m {
		if len(k) > len(base) && k[:len(base)] == base && k[len(base)] == '/' {
			out[k[len(base):]] = v
		}
	}
	return out
}

// inlineSecrets warns about each secret member (IsSecretMember) under ptr
// whose value is written inline rather than read from ${VAR}: generated
// code leaves it out, and every copy of the file holds it.
func (cx *converter) inlineSecrets(ptr string, v any) {
	switch n := v.(type) {
	case map[string]any:
		for k, c := range n {
			cx.inlineSecrets(ptr+"/"+configjson.EscapePointer(k), c)
		}
	case []any:
		for i, c := range n {
			cx.inlineSecrets(ptr+"/"+strconv.Itoa(i), c)
		}
	case string:
		if n != "" && isSecretPointer(ptr) && !cx.fromEnv[ptr] {
			cx.warnf(ptr, "%s; a secret written inline is not compiled into the processor either: only --settings FILE supplies it", inlineSecretExplanation)
		}
	}
}
