package webhook

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	if err := c.AddResource("webhook.schema.json", bytes.NewReader(Schema)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("webhook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The schema and Config describe the same fields.
func TestSchemaMatchesConfig(t *testing.T) {
	var doc struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(Schema, &doc); err != nil {
		t.Fatal(err)
	}
	var inSchema, inConfig []string
	for k := range doc.Properties {
		inSchema = append(inSchema, k)
	}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		inConfig = append(inConfig, name)
	}
	slices.Sort(inSchema)
	slices.Sort(inConfig)
	if !slices.Equal(inSchema, inConfig) {
		t.Errorf("schema properties %v, Config fields %v", inSchema, inConfig)
	}
}

func TestSchema(t *testing.T) {
	s := compileSchema(t)
	tests := []struct {
		config string
		valid  bool
	}{
		{`{"url": "https://example.com/hook"}`, true},
		{`{"url": "http://127.0.0.1:8080/x?y=1", "headers": {"Authorization": "Bearer t"}, "content_type": "application/json",
		   "timeout_ms": 500, "max_concurrent_requests": 16, "max_batch": 100}`, true},
		{`{}`, false},
		{`{"url": "ftp://example.com"}`, false},
		{`{"url": "https://h", "extra": 1}`, false},
		{`{"url": "https://h", "headers": {"Bad Name": "v"}}`, false},
		{`{"url": "https://h", "headers": {"X": 1}}`, false},
		{`{"url": "https://h", "timeout_ms": 0}`, false},
		{`{"url": "https://h", "max_concurrent_requests": 1025}`, false},
		{`{"url": "https://h", "max_batch": 0}`, false},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.config), &v); err != nil {
			t.Fatal(err)
		}
		err := s.Validate(v)
		if (err == nil) != tt.valid {
			t.Errorf("%s: valid %v, want %v (%v)", tt.config, err == nil, tt.valid, err)
		}
		if tt.valid {
			var c Config
			dec := json.NewDecoder(strings.NewReader(tt.config))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Errorf("%s: decode: %v", tt.config, err)
			} else if err := c.Defaults().Validate(); err != nil {
				t.Errorf("%s: schema-valid but Validate: %v", tt.config, err)
			}
		}
	}
}
