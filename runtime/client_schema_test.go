package runtime

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateSchemas = flag.Bool("update", false, "rewrite the built-in clients' schema files from schema/settings.schema.json")

// TestClientSchemasUpToDate: each built-in client's Schema is its "config"
// definition cut out of schema/settings.schema.json, with the definitions
// it refers to, so the processor checks a client's config at start by the
// rules kgen validate applies. go test ./runtime -run ClientSchemas -update
// rewrites them.
func TestClientSchemasUpToDate(t *testing.T) {
	raw, err := os.ReadFile("../schema/settings.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Client{kafkaConsumerClient, fileReaderClient, kafkaProducerClient, fileWriterClient, stdoutClient} {
		t.Run(c.Name, func(t *testing.T) {
			want, err := cutClientSchema(raw, c.Name+"_config")
			if err != nil {
				t.Fatal(err)
			}
			file := "client_" + c.Name + ".schema.json"
			if *updateSchemas {
				if err := os.WriteFile(file, want, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(c.Schema, want) {
				t.Errorf("%s is not the %s_config definition of schema/settings.schema.json; run go test ./runtime -run ClientSchemas -update", file, c.Name)
			}
		})
	}
}

// cutClientSchema returns the definition def of the settings schema raw as
// a schema of its own: the definition with every definition it refers to,
// directly or not, under its $defs.
func cutClientSchema(raw []byte, def string) ([]byte, error) {
	var s struct {
		Schema string                     `json:"$schema"`
		ID     string                     `json:"$id"`
		Defs   map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	root, ok := s.Defs[def]
	if !ok {
		return nil, fmt.Errorf("no definition %s", def)
	}
	const prefix = `"#/$defs/`
	used := map[string]json.RawMessage{}
	var visit func(b json.RawMessage) error
	visit = func(b json.RawMessage) error {
		for rest := string(b); ; {
			i := strings.Index(rest, prefix)
			if i < 0 {
				return nil
			}
			rest = rest[i+len(prefix):]
			name := rest[:strings.IndexByte(rest, '"')]
			if _, seen := used[name]; seen {
				continue
			}
			d, ok := s.Defs[name]
			if !ok {
				return fmt.Errorf("%s refers to an unknown definition %s", def, name)
			}
			used[name] = d
			if err := visit(d); err != nil {
				return err
			}
		}
	}
	if err := visit(root); err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(root, &obj); err != nil {
		return nil, err
	}
	obj["$schema"], _ = json.Marshal(s.Schema)
	obj["$id"], _ = json.Marshal(strings.TrimSuffix(s.ID, "settings.schema.json") + "clients/" + strings.TrimSuffix(def, "_config") + ".schema.json")
	if len(used) > 0 {
		names := make([]string, 0, len(used))
		for n := range used {
			names = append(names, n)
		}
		slices.Sort(names)
		defs := map[string]json.RawMessage{}
		for _, n := range names {
			defs[n] = used[n]
		}
		obj["$defs"], _ = json.Marshal(defs)
	}
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
