package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCompiles(t *testing.T) {
	if _, err := Compiled(); err != nil {
		t.Fatal(err)
	}
}

// TestDescriptions checks that every property an editor can complete has a
// description, either its own or that of the definition it refers to.
func TestDescriptions(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	described := func(n map[string]any) bool {
		if _, ok := n["description"]; ok {
			return true
		}
		if ref, ok := n["$ref"].(string); ok {
			def, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			_, ok := def["description"]
			return ok
		}
		return false
	}
	var walk func(ptr string, n any)
	walk = func(ptr string, n any) {
		switch n := n.(type) {
		case map[string]any:
			if props, ok := n["properties"].(map[string]any); ok {
				for name, p := range props {
					pm, ok := p.(map[string]any)
					if !ok {
						continue // false: forbidden property
					}
					if !described(pm) && !strings.Contains(ptr, "/if") {
						t.Errorf("%s/properties/%s has no description", ptr, name)
					}
				}
			}
			for k, v := range n {
				walk(ptr+"/"+k, v)
			}
		case []any:
			for _, v := range n {
				walk(ptr, v)
			}
		}
	}
	walk("#", doc)
}
