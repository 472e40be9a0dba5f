package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotObject is returned by Migrate for a document that is not a JSON
// object.
var ErrNotObject = errors.New("settings are not a JSON object")

// Migrate turns settings written in an older format into the current one.
// A file without "settings_version" (the seed's format) gets
// "settings_version": 1 (after "$schema" when that comes first); every
// other member is kept, in order. The result is indented with two spaces.
// A file already current is returned unchanged with changed false.
// Migrate does not validate: run Parse on the result.
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
		return nil, false, fmt.Errorf("migrate: settings_version %s is unknown (this kgen knows %d)", short(v), CurrentVersion)
	}
	at := 0
	if len(obj) > 0 && obj[0].key == "$schema" {
		at = 1
	}
	version := member{"settings_version", json.Number(fmt.Sprint(CurrentVersion))}
	obj = append(obj[:at:at], append(object{version}, obj[at:]...)...)
	var b bytes.Buffer
	encodeIndented(&b, obj, "")
	b.WriteByte('\n')
	return b.Bytes(), true, nil
}
