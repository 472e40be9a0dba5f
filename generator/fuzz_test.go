package generator

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/settings"
)

var lineDirective = regexp.MustCompile(`(?m)^[ \t]*//(go:|line |export |extern |\s*\+build)`)

// FuzzPayloadSchema states the generator's invariant for a payload schema:
// settings that parse always render (kgen init never writes what it cannot
// generate), into Go files that parse, with no directive but kgen's own
// //go:generate and no init function.
func FuzzPayloadSchema(f *testing.F) {
	files, _ := filepath.Glob("../testdata/hostile/*.json")
	golden, _ := filepath.Glob("../testdata/golden/*/settings.json")
	for _, file := range append(files, golden...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var doc struct {
			Payload struct {
				Inbound struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"inbound"`
			} `json:"payload"`
		}
		if json.Unmarshal(data, &doc) == nil && len(doc.Payload.Inbound.Schema) > 0 {
			f.Add([]byte(doc.Payload.Inbound.Schema))
		}
	}
	f.Add([]byte(`{"type":"object","required":["a"],"properties":{"a":{"type":"array","items":{"type":"object","properties":{"b":{}}}}}}`))
	f.Fuzz(func(t *testing.T, schema []byte) {
		if !json.Valid(schema) {
			return
		}
		data := []byte(`{"inbound_client_settings": {"name": "file_reader", "config": {"file": "-"}},
 "outbound_client_settings": {"name": "stdout"},
 "payload": {"inbound": {"type": "json", "schema": ` + string(schema) + `}}}`)
		s, _ := settings.Parse("settings.json", data, GenerationEnv)
		if s == nil {
			return
		}
		fs, err := Render(s, data, Options{Module: "example.com/fuzz", Version: "dev", SourceDir: SourcePlaceholder, Golden: true})
		if err != nil {
			t.Fatalf("valid settings, Render: %v", err)
		}
		for p, file := range fs {
			if !strings.HasSuffix(p, ".go") {
				continue
			}
			if _, err := parser.ParseFile(token.NewFileSet(), p, file.Data, parser.ParseComments); err != nil {
				t.Fatalf("%s does not parse: %v", p, err)
			}
			for _, loc := range lineDirective.FindAllIndex(file.Data, -1) {
				line, _, _ := strings.Cut(string(file.Data[loc[0]:]), "\n")
				if line != "//go:generate go tool kgen generate" {
					t.Fatalf("%s: directive %q", p, line)
				}
			}
			if strings.Contains(string(file.Data), "\nfunc init(") {
				t.Fatalf("%s: an init function", p)
			}
		}
	})
}
