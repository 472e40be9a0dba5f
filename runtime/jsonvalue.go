package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// JSONValueError is a JSON record value that is not what its Go type
// expects. It names the place as a JSON pointer into the value (""
// for the whole value) and what was expected, in JSON's terms, never in
// Go's: "/id: want integer, got string".
type JSONValueError struct {
	// Pointer locates the problem (RFC 6901), "" for the whole value.
	Pointer string
	// Want and Got are JSON types ("object", "array", "string", "integer",
	// "number", "boolean", "null"); Got may carry the number written.
	// Empty when Msg says what is wrong instead.
	Want, Got string
	// Msg describes any other problem (malformed JSON, a missing property).
	Msg string
}

func (e *JSONValueError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = "want " + e.Want + ", got " + e.Got
	}
	if e.Pointer == "" {
		return msg
	}
	return e.Pointer + ": " + msg
}

// UnmarshalJSON decodes the JSON value data into v (a non-nil pointer) as
// json.Unmarshal does. A failure is a *JSONValueError naming the first
// place where data and v's type disagree. Finding it takes a second pass
// over data, made only when decoding fails.
func UnmarshalJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &JSONValueError{Msg: fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())}
	}
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer {
		if e := walkJSON(data, t.Elem(), ""); e != nil {
			return e
		}
	}
	// The walk found nothing: say what encoding/json said, in JSON's
	// terms where it can.
	var je *JSONValueError
	if errors.As(err, &je) {
		return je
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		ptr := ""
		if te.Field != "" {
			ptr = "/" + strings.ReplaceAll(te.Field, ".", "/")
		}
		return &JSONValueError{Pointer: ptr, Want: jsonType(te.Type), Got: te.Value}
	}
	return &JSONValueError{Msg: err.Error()}
}

// RequireProperties reports, as a *JSONValueError, a JSON value data that
// is not an object or lacks one of names. Generated payload types call it
// from their UnmarshalJSON.
func RequireProperties(data []byte, names ...string) error {
	var props map[string]json.RawMessage
	if kind := jsonKind(data); kind != "object" {
		return &JSONValueError{Want: "object", Got: kind}
	}
	if err := json.Unmarshal(data, &props); err != nil {
		return &JSONValueError{Msg: err.Error()}
	}
	for _, n := range names {
		if _, ok := props[n]; !ok {
			return &JSONValueError{Msg: fmt.Sprintf("missing required property %q", n)}
		}
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// walkJSON returns the first place where the JSON value data does not fit
// type t, or nil. Children are checked before a type's own UnmarshalJSON,
// so that its error (a missing property) is reported at its own place.
func walkJSON(data []byte, t reflect.Type, ptr string) *JSONValueError {
	kind := jsonKind(data)
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return nil
	}
	if kind == "null" && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Map || t.Kind() == reflect.Slice) {
		return nil
	}
	custom := reflect.PointerTo(t).Implements(unmarshalerType)
	var bad *JSONValueError
	switch t.Kind() {
	case reflect.Pointer:
		return walkJSON(data, t.Elem(), ptr)
	case reflect.Struct:
		bad = walkObject(data, kind, ptr, func(name string) (reflect.Type, bool) {
			f, ok := fieldByJSONName(t, name)
			return f.Type, ok
		}, custom)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil
		}
		bad = walkObject(data, kind, ptr, func(string) (reflect.Type, bool) { return t.Elem(), true }, custom)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			bad = mismatch(kind, ptr, "string", custom) // base64
			break
		}
		if kind != "array" {
			bad = mismatch(kind, ptr, "array", custom)
			break
		}
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return nil
		}
		for i, it := range items {
			if e := walkJSON(it, t.Elem(), ptr+"/"+strconv.Itoa(i)); e != nil {
				return e
			}
		}
	case reflect.String:
		bad = mismatch(kind, ptr, "string", custom)
	case reflect.Bool:
		bad = mismatch(kind, ptr, "boolean", custom)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch {
		case custom:
		case kind == "number": // a fraction or an exponent
			bad = &JSONValueError{Pointer: ptr, Want: "integer", Got: "number " + numberText(data)}
		case kind == "integer" && !fitsInt(data, t):
			bad = &JSONValueError{Pointer: ptr, Want: intRange(t), Got: "number " + numberText(data)}
		default:
			bad = mismatch(kind, ptr, "integer", custom)
		}
	case reflect.Float32, reflect.Float64:
		bad = mismatch(kind, ptr, "number", custom)
	}
	if bad != nil {
		return bad
	}
	if custom {
		u := reflect.New(t).Interface().(json.Unmarshaler)
		if err := u.UnmarshalJSON(data); err != nil {
			var je *JSONValueError
			if errors.As(err, &je) {
				c := *je
				c.Pointer = ptr + c.Pointer
				return &c
			}
			return &JSONValueError{Pointer: ptr, Msg: err.Error()}
		}
	}
	return nil
}

// walkObject checks an object's members against the types field gives.
func walkObject(data []byte, kind, ptr string, field func(string) (reflect.Type, bool), custom bool) *JSONValueError {
	if kind != "object" {
		return mismatch(kind, ptr, "object", custom)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			return nil
		}
		if t, ok := field(name); ok {
			if e := walkJSON(raw, t, ptr+"/"+escapeToken(name)); e != nil {
				return e
			}
		}
	}
	return nil
}

// mismatch reports a JSON value of kind where wantKind is expected; null
// is accepted (encoding/json leaves the Go value alone), and a type that
// decodes itself decides for itself.
func mismatch(kind, ptr, wantKind string, custom bool) *JSONValueError {
	if kind == wantKind || kind == "null" || wantKind == "number" && kind == "integer" {
		return nil
	}
	if custom {
		return nil // the type's UnmarshalJSON decides
	}
	return &JSONValueError{Pointer: ptr, Want: wantKind, Got: kind}
}

// fieldByJSONName finds the struct field encoding/json decodes member name
// into: an exact tag or field name first, then one equal under case
// folding.
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	var folded *reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f, true
		}
		if folded == nil && strings.EqualFold(tag, name) {
			folded = &f
		}
	}
	if folded != nil {
		return *folded, true
	}
	return reflect.StructField{}, false
}

// jsonKind names the JSON type of the value data (leading space allowed);
// a number without fraction or exponent is an "integer".
func jsonKind(data []byte) string {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return "nothing"
	}
	switch data[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(data, ".eE") {
		return "number"
	}
	return "integer"
}

// fitsInt reports whether the JSON number data is an integer that t holds.
func fitsInt(data []byte, t reflect.Type) bool {
	s := string(bytes.TrimSpace(data))
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err := strconv.ParseUint(s, 10, t.Bits())
		return err == nil
	}
	_, err := strconv.ParseInt(s, 10, t.Bits())
	return err == nil
}

func intRange(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("integer from 0 to %d", uint64(1)<<t.Bits()-1)
	}
	return fmt.Sprintf("integer from %d to %d", -(int64(1) << (t.Bits() - 1)), int64(1)<<(t.Bits()-1)-1)
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	if t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 {
		return "integer"
	}
	return "a value"
}

// escapeToken escapes a member name for a JSON pointer (RFC 6901).
func escapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// numberText returns the number data as written, cut to 32 bytes.
func numberText(data []byte) string {
	s := string(bytes.TrimSpace(data))
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
