package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// ErrNotObject is returned by Migrate for a document that is not a JSON
// object.
var ErrNotObject = errors.New("settings are not a JSON object")

// Migrate turns settings written in an older format into the current one.
// A file without "settings_version" (the seed's format) gets
// "settings_version": 1, before its first member (after "$schema" when
// that comes first). The text is edited in place: the new member goes on a
// line of its own, indented as the member it precedes, and every other
// byte is kept, so a diff of the migration is one line. A file already
// current is returned unchanged with changed false. Migrate does not
// validate: run Parse on the result.
func Migrate(data []byte) (out []byte, changed bool, err error) {
	doc, err := decodeOrdered(data)
	if err != nil {
		return nil, false, fmt.Errorf("migrate: %w", err)
	}
	obj, ok := doc.(object)
	if !ok {
		return nil, false, fmt.Errorf("migrate: %w", ErrNotObject)
	}
	if v, ok := obj.get("settings_version"); ok {
		if n, isNum := v.(json.Number); isNum && n == json.Number(fmt.Sprint(CurrentVersion)) {
			return data, false, nil
		}
		return nil, false, fmt.Errorf("migrate: settings_version %s is unknown (this kgen knows %d)", configjson.Describe(v), CurrentVersion)
	}
	version := fmt.Sprintf("%q: %d", "settings_version", CurrentVersion)
	at := 0
	if len(obj) > 0 && obj[0].key == "$schema" {
		at = 1
	}
	loc := newLocator(data)
	keyOff := func(i int) int { return loc.spans["/"+configjson.EscapePointer(obj[i].key)].key }
	var ins []byte
	var off int
	switch {
	case at < len(obj):
		// Before the member at index at: on a line of its own when that
		// member starts its line, else just before it.
		off = keyOff(at)
		lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
		if indent := data[lineStart:off]; len(bytes.Trim(indent, " \t")) == 0 {
			off = lineStart
			ins = fmt.Appendf(nil, "%s%s,%s", indent, version, newline(data, lineStart))
		} else {
			ins = fmt.Appendf(nil, "%s, ", version)
		}
	case at == 1:
		// "$schema" alone: after its value.
		val := loc.spans["/$schema"].val
		dec := json.NewDecoder(bytes.NewReader(data[val:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false, fmt.Errorf("migrate: %w", err)
		}
		off = val + int(dec.InputOffset())
		k := keyOff(0)
		lineStart := bytes.LastIndexByte(data[:k], '\n') + 1
		if indent := data[lineStart:k]; len(bytes.Trim(indent, " \t")) == 0 {
			ins = fmt.Appendf(nil, ",%s%s%s", newline(data, lineStart), indent, version)
		} else {
			ins = fmt.Appendf(nil, ", %s", version)
		}
	default:
		// An empty object: just after its brace.
		off = bytes.IndexByte(data, '{') + 1
		ins = []byte(version)
	}
	out = make([]byte, 0, len(data)+len(ins))
	out = append(append(append(out, data[:off]...), ins...), data[off:]...)
	return out, true, nil
}

// newline returns the line break that ends just before offset lineStart of
// data: "\r\n" in a file written with them, else "\n".
func newline(data []byte, lineStart int) string {
	if lineStart >= 2 && data[lineStart-2] == '\r' {
		return "\r\n"
	}
	return "\n"
}
