package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// tagPunct is the punctuation encoding/json accepts in a struct tag's name
// besides letters and digits (its isValidTag): quotes, backslashes, commas
// and backticks are missing on purpose.
const tagPunct = "!#$%&()*+-./:;<=>?@[]^_{|}~ "

// CheckPropertyName reports whether name, a property of a payload schema's
// object, can be the JSON name of a generated struct field. encoding/json
// ignores a tag name it does not accept and silently uses the Go field name
// instead, so such a property would be decoded from and encoded to another
// member than the one the schema names. "-" is fine: it is written "-,".
func CheckPropertyName(name string) error {
	if name == "" {
		return errors.New("an empty property name cannot be a Go JSON field name (encoding/json needs a non-empty name)")
	}
	for _, r := range name {
		if strings.ContainsRune(tagPunct, r) || unicode.IsLetter(r) || unicode.IsDigit(r) {
			continue
		}
		return errors.New("property name " + configjson.QuoteShort(name) + " cannot be a Go JSON field name: encoding/json accepts letters, digits, spaces and " + strings.TrimSpace(tagPunct) + " only (got " + quoteRune(r) + ")")
	}
	return nil
}

func quoteRune(r rune) string {
	b, _ := json.Marshal(string(r))
	return string(b)
}

// checkPayloadNames checks the property names of a payload schema that
// kgen turns into struct fields: those of "properties" reached from the
// root through "properties" and "items", as the generator walks them.
func checkPayloadNames(base string, raw json.RawMessage) []pending {
	var diags []pending
	var walk func(ptr string, raw json.RawMessage)
	walk = func(ptr string, raw json.RawMessage) {
		var n struct {
			Properties json.RawMessage `json:"properties"`
			Items      json.RawMessage `json:"items"`
		}
		if json.Unmarshal(raw, &n) != nil {
			return
		}
		if len(n.Items) > 0 {
			walk(ptr+"/items", n.Items)
		}
		keys, err := ObjectKeys(n.Properties)
		if err != nil {
			return
		}
		var props map[string]json.RawMessage
		_ = json.Unmarshal(n.Properties, &props)
		for _, k := range keys {
			at := ptr + "/properties/" + configjson.EscapePointer(k)
			if err := CheckPropertyName(k); err != nil {
				diags = append(diags, pending{Diagnostic: Diagnostic{Severity: Error, Pointer: at, Message: err.Error()}, atKey: true})
			}
			walk(at, props[k])
		}
	}
	walk(base, raw)
	return diags
}

// ObjectKeys returns the member names of the JSON object raw in document
// order, each once (nil for empty raw). The generator declares struct
// fields in this order.
func ObjectKeys(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("must be an object")
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		if !seen[k] {
			keys = append(keys, k)
			seen[k] = true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
