package settings

import (
	"bytes"
	"os"
	"testing"

	"github.com/kgen-dev/kgen/runtime/builtin"
)

// TestSchemaUpToDate: schema/settings.schema.json is schema/base.schema.json
// with the settings schema fragments of the built-in clients; go test
// ./settings -run SchemaUpToDate -update rewrites it. The fragments
// (runtime/<client>/schema.json) are the source of each client's part.
func TestSchemaUpToDate(t *testing.T) {
	base, err := os.ReadFile("../schema/base.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := assembleSchema(base, builtin.Clients())
	if err != nil {
		t.Fatal(err)
	}
	const file = "../schema/settings.schema.json"
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not assembled from schema/base.schema.json and the clients' schema fragments; run go test ./settings -run SchemaUpToDate -update", file)
	}
}
