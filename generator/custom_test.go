package generator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dave/jennifer/jen"
)

// A custom client's config renders as Go values that encoding/json writes
// back as the same JSON, ${VAR}s read at start, inline secrets left out.
func TestJSONValueCode(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`{}`, `map[string]any{}`},
		{`{"b": 1, "a": "x"}`, "map[string]any{\n\t\"a\": \"x\",\n\t\"b\": json.Number(\"1\"),\n}"},
		{`[1.5, true, null, "s"]`, `[]any{json.Number("1.5"), true, nil, "s"}`},
		{`{"url": "https://` + envOpen + `HOST` + envClose + `/x"}`, "map[string]any{\n\t\"url\": \"https://\" + os.Getenv(\"HOST\") + \"/x\",\n}"},
		{`{"password": "inline", "token": "` + envOpen + `T` + envClose + `", "Authorization": "Bearer ` + envOpen + `T` + envClose + `"}`,
			"map[string]any{\n\t\"Authorization\": \"Bearer \" + os.Getenv(\"T\"),\n\t\"token\":         os.Getenv(\"T\"),\n}"},
		{`{"nested": {"api_key": "inline", "n": [{"x": 1}]}}`, "map[string]any{\n\t\"nested\": map[string]any{\n\t\t\"n\": []any{map[string]any{\n\t\t\t\"x\": json.Number(\"1\"),\n\t\t}},\n\t},\n}"},
	}
	for _, tt := range tests {
		dec := json.NewDecoder(strings.NewReader(tt.json))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		c, err := jsonValueCode(v)
		if err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		f := jen.NewFile("p")
		f.Var().Id("v").Op("=").Add(c)
		got := fmt.Sprintf("%#v", f)
		got = got[strings.Index(got, "var v = ")+len("var v = "):]
		got = strings.TrimSpace(got)
		if got != tt.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", tt.json, got, tt.want)
		}
	}
}
