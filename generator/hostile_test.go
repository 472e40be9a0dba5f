package generator

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/settings"
)

// hostileSettings returns settings whose inbound payload has schema, as JSON.
func hostileSettings(t *testing.T, schema any) []byte {
	t.Helper()
	doc := map[string]any{
		"num_of_workers": 1,
		"inbound_client_settings": map[string]any{"name": "kafka_consumer", "config": map[string]any{
			"topics": []string{"in"}, "client_config": map[string]any{"group_id": "g"}}},
		"outbound_client_settings": map[string]any{"name": "stdout"},
		"payload":                  map[string]any{"inbound": map[string]any{"type": "json", "schema": schema}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renderSettings parses and renders data; it fails t when either step does.
func renderSettings(t *testing.T, data []byte) Files {
	t.Helper()
	s, diags := settings.Parse("settings.json", data, GenerationEnv)
	if s == nil {
		for _, d := range diags {
			t.Log(settings.Format(d))
		}
		t.Fatal("invalid settings")
	}
	fs, err := Render(s, data, Options{Module: "example.com/hostile", Version: "dev", SourceDir: SourcePlaceholder, Golden: true})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return fs
}

// hostileText is settings text that would be code, a directive or an
// invalid source file if written into a comment as given.
var hostileText = []string{
	"//go:generate sh -c \"touch /tmp/pwned\"",
	"line one\n//go:generate touch /tmp/pwned",
	"*/ func init() { panic(\"pwned\") } /*",
	"x\n*/\nfunc init() { panic(\"pwned\") }\n/*",
	"//go:build ignore",
	"go:build ignore",
	"+build ignore",
	"a\n+build linux",
	"//line evil.go:1",
	"a\x00b",
	"a\rb",
	"a\r\n//go:generate touch /tmp/pwned",
	"\ufeffbom",
	"a\ufeffb",
	"a\u2028//go:generate touch /tmp/pwned",
	"a\u2029b",
	"a\u0085//go:generate x",
	"a\vb\fc",
	"ctl \x01\x1b[31m\x7f",
	"bidi \u202e\u2066x\u2069",
	"private \ue000X\ue001",
	"bad utf8 \xff\xfe",
	"/* open",
	"back`tick\"quote\\",
}

// TestSchemaTextIsInert writes every hostile text as a payload schema's
// description and title, of the value and of a property, and checks that
// the generated file parses to exactly the expected declarations, with no
// directive, no block comment and no byte Go refuses or an editor breaks a
// line at.
func TestSchemaTextIsInert(t *testing.T) {
	for _, text := range hostileText {
		t.Run(strings.ReplaceAll(text, "/", "_"), func(t *testing.T) {
			schema := map[string]any{
				"type": "object", "title": text, "description": text,
				"properties": map[string]any{
					"a": map[string]any{"type": "string", "description": text},
					"b": map[string]any{"type": "object", "title": text, "properties": map[string]any{"c": map[string]any{"type": "integer", "title": text}}},
				},
			}
			fs := renderSettings(t, hostileSettings(t, schema))
			src := fs[OwnedDir+"/payload_gen.go"].Data
			for _, bad := range []string{"\x00", "\r", "\ufeff", "\u2028", "\u2029", "\u0085", "\u202e", "\ue000", "\n//go:", "\n//line", "\n// +build", "\n//+build", "\nfunc init"} {
				if strings.Contains(string(src), bad) {
					t.Errorf("payload_gen.go holds %q", bad)
				}
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "payload_gen.go", src, parser.ParseComments)
			if err != nil {
				t.Fatalf("payload_gen.go does not parse: %v\n%s", err, src)
			}
			var funcs []string
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					funcs = append(funcs, fd.Name.Name)
				}
			}
			want := "Permanent DecodeInValue EncodeInValue DecodeOutValue EncodeOutValue ConvertValue"
			if got := strings.Join(funcs, " "); got != want {
				t.Errorf("functions %q, want %q", got, want)
			}
			for _, cg := range f.Comments {
				for _, c := range cg.List {
					if strings.HasPrefix(c.Text, "/*") || strings.HasPrefix(c.Text, "//go:") || strings.HasPrefix(c.Text, "//line") {
						t.Errorf("comment %q is a directive or a block", c.Text)
					}
				}
			}
		})
	}
}

func TestCommentSafe(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"plain", []string{"plain"}},
		{"\n\n a \n\n b \n\n", []string{"a", "", "b"}},
		{"a\r\nb\rc\u2028d", []string{"a", "b", "c", "d"}},
		{"nul\x00", []string{`nul\u0000`}},
		{"\ufeffx", []string{`\uFEFFx`}},
		{"go:generate x", []string{`"go:generate x"`}},
		{"+build linux", []string{`"+build linux"`}},
		{"//go:generate x", []string{"//go:generate x"}}, // rendered after "// "
		{"\xff", []string{`\uFFFD`}},
		{"emoji \U0001F600 ok", []string{"emoji \U0001F600 ok"}},
	}
	for _, tt := range tests {
		got := commentSafe(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("commentSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPropertyNamesRefused: names encoding/json cannot carry in a tag are
// refused with the schema pointer, by the settings checks (validate, vet,
// init) and by the generator itself.
func TestPropertyNamesRefused(t *testing.T) {
	for _, name := range []string{"", "a,string", `a"b`, "a`b", "a\nb", `a\b`, "a'b", "\ue000"} {
		t.Run(name, func(t *testing.T) {
			schema := map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "object", "properties": map[string]any{name: map[string]any{"type": "string"}}}}}
			data := hostileSettings(t, schema)
			s, diags := settings.Parse("settings.json", data, GenerationEnv)
			want := "/payload/inbound/schema/properties/ok/properties/" + escapePointer(name)
			found := false
			for _, d := range diags {
				if d.Pointer == want && strings.Contains(d.Message, "cannot be a Go JSON field name") && d.Line > 0 {
					found = true
				}
			}
			if s != nil || !found {
				t.Fatalf("settings accepted or no diagnostic at %s: %v", want, diags)
			}
			_, _, err := payloadTypes(settings.Payload{Kind: settings.JSON, Schema: mustCompact(t, schema)}, settings.Payload{})
			if err == nil || !strings.Contains(err.Error(), "/properties/ok/properties/") {
				t.Errorf("generator: err = %v, want one naming the property", err)
			}
		})
	}
}

func mustCompact(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPropertyNamesEncoded: names that collide with generated methods or
// mean something to encoding/json ("-") become fields that build and
// carry their member both ways, checked by a test run in the generated
// project.
func TestPropertyNamesEncoded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	names := []string{"-", "unmarshal_json", "UnmarshalJSON", "marshal_json", "a b", "x.y", "$ref", "Unmarshal-JSON"}
	props := map[string]any{}
	for _, n := range names {
		props[n] = map[string]any{"type": "string"}
	}
	schema := map[string]any{"type": "object", "required": names, "properties": props}
	data := hostileSettings(t, schema)
	s, diags := settings.Parse("settings.json", data, GenerationEnv)
	if s == nil {
		t.Fatalf("invalid settings: %v", diags)
	}
	fs, err := Render(s, data, Options{Module: "example.com/names", Version: "dev", SourceDir: checkout(t)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "names")
	if _, err := WriteNew(dir, fs, false); err != nil {
		t.Fatal(err)
	}
	in := map[string]string{}
	for i, n := range names {
		in[n] = strings.Repeat("v", i+1)
	}
	want, _ := json.Marshal(in)
	test := `package kgen

import (
	"encoding/json"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	want := ` + "`" + string(want) + "`" + `
	v, err := DecodeInValue([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeInValue(v)
	if err != nil {
		t.Fatal(err)
	}
	var got, exp map[string]string
	json.Unmarshal(b, &got)
	json.Unmarshal([]byte(want), &exp)
	if len(got) != len(exp) {
		t.Fatalf("round trip: %s, want %s", b, want)
	}
	for k, v := range exp {
		if got[k] != v {
			t.Errorf("member %q: %q, want %q (encoded %s)", k, got[k], v, b)
		}
	}
	if _, err := DecodeInValue([]byte("{}")); err == nil {
		t.Error("an empty object decoded although every property is required")
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, OwnedDir, "roundtrip_test.go"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "vet", "./...")
	goCmd(t, dir, "test", "./...")
}
