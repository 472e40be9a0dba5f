package runtime

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/kgen-dev/kgen/runtime/internal/schemacut"
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
	for _, c := range []Client{fileReaderClient, fileWriterClient, stdoutClient} {
		t.Run(c.Name, func(t *testing.T) {
			want, err := schemacut.Cut(raw, c.Name+"_config")
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
