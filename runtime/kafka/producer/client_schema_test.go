package producer

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/kgen-dev/kgen/runtime/internal/schemacut"
)

var updateSchema = flag.Bool("update", false, "rewrite schema.json from schema/settings.schema.json")

// TestClientSchemaUpToDate: the client's Schema is its "config" definition
// cut out of schema/settings.schema.json, with the definitions it refers
// to, so the processor checks a config at start by the rules kgen validate
// applies. go test ./runtime/kafka/producer -run ClientSchema -update rewrites
// it.
func TestClientSchemaUpToDate(t *testing.T) {
	raw, err := os.ReadFile("../../../schema/settings.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := schemacut.Cut(raw, Name+"_config")
	if err != nil {
		t.Fatal(err)
	}
	if *updateSchema {
		if err := os.WriteFile("schema.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(Client.Schema, want) {
		t.Errorf("schema.json is not the %s_config definition of schema/settings.schema.json; run go test ./runtime/kafka/producer -run ClientSchema -update", Name)
	}
}
