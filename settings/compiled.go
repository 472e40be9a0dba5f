package settings

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// inlineSecretPlaceholder replaces a secret written inline in StartCheck's
// copy: such a secret is never compiled in, and the copy only has to pass
// the same checks as the file.
const inlineSecretPlaceholder = "(secret written inline: not compiled in)"

// StartCheck returns what generated code keeps to check its compiled-in
// settings when the processor starts: the settings data with payload
// schemas left out and secrets written inline replaced, as compact JSON.
// Parsed with the process environment, it refuses an unset ${VAR} by name
// and validates the resolved values exactly as --settings FILE does. It is
// "" when data refers to no environment variable: every value was then
// checked when the code was generated.
func StartCheck(data []byte) (string, error) {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return "", err
	}
	root, ok := tree.(map[string]any)
	if !ok {
		return "", nil
	}
	if p, ok := root["payload"].(map[string]any); ok {
		for _, dir := range []string{"inbound", "outbound"} {
			if d, ok := p[dir].(map[string]any); ok {
				delete(d, "schema")
			}
		}
	}
	refs := false
	var walk func(ptr string, v any) any
	walk = func(ptr string, v any) any {
		switch n := v.(type) {
		case map[string]any:
			for k, c := range n {
				n[k] = walk(ptr+"/"+configjson.EscapePointer(k), c)
			}
		case []any:
			for i, c := range n {
				n[i] = walk(ptr+"/"+strconv.Itoa(i), c)
			}
		case string:
			if hasRef(n) {
				refs = true
				return n
			}
			if n != "" && isSecretPointer(ptr) {
				return inlineSecretPlaceholder
			}
		}
		return v
	}
	tree = walk("", tree)
	if !refs {
		return "", nil
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// InlineSecrets returns the JSON pointers of the secrets written inline
// (not as ${VAR}) in valid settings data, in no particular order.
func InlineSecrets(data []byte) []string {
	var tree any
	if json.Unmarshal(data, &tree) != nil {
		return nil
	}
	var ptrs []string
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch n := v.(type) {
		case map[string]any:
			if ptr == "/payload/inbound/schema" || ptr == "/payload/outbound/schema" {
				return
			}
			for k, c := range n {
				walk(ptr+"/"+configjson.EscapePointer(k), c)
			}
		case []any:
			for i, c := range n {
				walk(ptr+"/"+strconv.Itoa(i), c)
			}
		case string:
			if n != "" && isSecretPointer(ptr) && !hasRef(n) {
				ptrs = append(ptrs, ptr)
			}
		}
	}
	walk("", tree)
	return ptrs
}

// hasRef reports whether s holds a ${VAR} reference ("$${" is a literal).
func hasRef(s string) bool {
	return strings.Contains(strings.ReplaceAll(s, "$${", ""), "${")
}
