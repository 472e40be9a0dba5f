package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/settings"
)

// payloadType is the Go type of a record value.
type payloadType struct {
	Kind settings.PayloadKind
	// Name is InValue or OutValue.
	Name string
	// SameAs is set when this type is an alias of the other side's
	// (identical payload declarations).
	SameAs string
	// Struct is true when the type (JSON with an object schema) is a
	// generated struct; else it is an alias of a Go type.
	Struct bool
	// Raw is true when the type is json.RawMessage: values are only
	// checked to be JSON.
	Raw bool
	// Decls are the type declarations (and methods) to emit.
	Decls []jen.Code
}

// payloadTypes builds the value types of both sides.
func payloadTypes(in, out settings.Payload) (*payloadType, *payloadType, error) {
	names := namer{}
	it, err := buildPayload(in, "InValue", "inbound", names)
	if err != nil {
		return nil, nil, fmt.Errorf("inbound payload schema: %w", err)
	}
	if samePayload(in, out) {
		return it, &payloadType{Kind: it.Kind, Name: "OutValue", SameAs: "InValue", Struct: it.Struct, Raw: it.Raw}, nil
	}
	ot, err := buildPayload(out, "OutValue", "outbound", names)
	if err != nil {
		return nil, nil, fmt.Errorf("outbound payload schema: %w", err)
	}
	return it, ot, nil
}

func samePayload(a, b settings.Payload) bool {
	if kindOf(a) != kindOf(b) {
		return false
	}
	var ca, cb bytes.Buffer
	if len(a.Schema) > 0 && json.Compact(&ca, a.Schema) != nil {
		return false
	}
	if len(b.Schema) > 0 && json.Compact(&cb, b.Schema) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func kindOf(p settings.Payload) settings.PayloadKind {
	if p.Kind == "" {
		return settings.Bytes
	}
	return p.Kind
}

func buildPayload(p settings.Payload, name, side string, names namer) (*payloadType, error) {
	pt := &payloadType{Kind: kindOf(p), Name: name}
	doc := fmt.Sprintf("%s is the %s record value", name, side)
	switch pt.Kind {
	case settings.Bytes:
		pt.Decls = []jen.Code{jen.Comment(doc + ", as bytes.").Line().Type().Id(name).Op("=").Index().Byte()}
	case settings.String:
		pt.Decls = []jen.Code{jen.Comment(doc + ", as UTF-8 text.").Line().Type().Id(name).Op("=").String()}
	case settings.JSON:
		if len(bytes.TrimSpace(p.Schema)) == 0 {
			pt.Raw = true
			pt.Decls = []jen.Code{jen.Comment(doc+", as JSON (no schema declared).").Line().
				Type().Id(name).Op("=").Qual("encoding/json", "RawMessage")}
			break
		}
		c := &schemaConv{names: names}
		t, kind, err := c.typeOf(p.Schema, name, "the "+side+" record value, as JSON", "")
		if err != nil {
			return nil, err
		}
		if kind == kindStruct {
			pt.Struct = true
		} else {
			names.take(name)
			pt.Raw = fmt.Sprintf("%#v", t) == "json.RawMessage"
			c.decls = append([]jen.Code{jen.Comment(doc + ", as JSON.").Line().Type().Id(name).Op("=").Add(t)}, c.decls...)
		}
		pt.Decls = c.decls
	default:
		return nil, fmt.Errorf("unknown payload kind %q", p.Kind)
	}
	return pt, nil
}

type typeKind int

const (
	kindScalar typeKind = iota // string, number, bool: pointer when optional
	kindStruct                 // generated struct: pointer when optional
	kindRef                    // slice, raw JSON: nil when absent
)

// schemaConv turns JSON Schema documents into Go type declarations.
type schemaConv struct {
	names namer
	decls []jen.Code
}

// schemaNode is the part of a JSON Schema kgen reads.
type schemaNode struct {
	Type        json.RawMessage `json:"type"`
	Properties  json.RawMessage `json:"properties"`
	Required    []string        `json:"required"`
	Items       json.RawMessage `json:"items"`
	Description string          `json:"description"`
	Title       string          `json:"title"`
}

// types returns the node's types, without "null", and whether null is
// allowed.
func (n schemaNode) types() ([]string, bool, error) {
	if len(n.Type) == 0 {
		return nil, false, nil
	}
	var one string
	if err := json.Unmarshal(n.Type, &one); err == nil {
		return []string{one}, one == "null", nil
	}
	var many []string
	if err := json.Unmarshal(n.Type, &many); err != nil {
		return nil, false, fmt.Errorf("type must be a string or an array of strings")
	}
	var ts []string
	null := false
	for _, t := range many {
		if t == "null" {
			null = true
			continue
		}
		ts = append(ts, t)
	}
	return ts, null, nil
}

// typeOf returns the Go type for the schema raw, declaring a struct named
// name when raw is an object with properties; what says what the value is
// ("the \"address\" property of InValue"), for doc comments. path is the
// JSON pointer of raw in the schema, for errors.
func (c *schemaConv) typeOf(raw json.RawMessage, name, what, path string) (*jen.Statement, typeKind, error) {
	var n schemaNode
	if err := json.Unmarshal(raw, &n); err != nil {
		// true, false or something else: any JSON value.
		return jen.Qual("encoding/json", "RawMessage"), kindRef, nil
	}
	ts, _, err := n.types()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", orDefault(path, "/"), err)
	}
	if len(ts) == 0 && len(n.Properties) > 0 {
		ts = []string{"object"}
	}
	if len(ts) != 1 {
		return jen.Qual("encoding/json", "RawMessage"), kindRef, nil
	}
	switch ts[0] {
	case "string":
		return jen.String(), kindScalar, nil
	case "integer":
		return jen.Int64(), kindScalar, nil
	case "number":
		return jen.Float64(), kindScalar, nil
	case "boolean":
		return jen.Bool(), kindScalar, nil
	case "array":
		if len(n.Items) == 0 {
			return jen.Index().Qual("encoding/json", "RawMessage"), kindRef, nil
		}
		item := strings.TrimSuffix(name, "s") + "Item"
		t, _, err := c.typeOf(n.Items, item, "an item of "+what, path+"/items")
		if err != nil {
			return nil, 0, err
		}
		return jen.Index().Add(t), kindRef, nil
	case "object":
		if len(n.Properties) == 0 {
			return jen.Qual("encoding/json", "RawMessage"), kindRef, nil
		}
		name, err := c.declareStruct(n, name, what, path)
		if err != nil {
			return nil, 0, err
		}
		return jen.Id(name), kindStruct, nil
	}
	return jen.Qual("encoding/json", "RawMessage"), kindRef, nil
}

// declareStruct declares the struct for object node n and returns its name.
func (c *schemaConv) declareStruct(n schemaNode, name, what, path string) (string, error) {
	name = c.names.take(name)
	doc := name + " is " + what + "."
	keys, err := settings.ObjectKeys(n.Properties)
	if err != nil {
		return "", fmt.Errorf("%s/properties: %w", path, err)
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(n.Properties, &props); err != nil {
		return "", fmt.Errorf("%s/properties: must be an object", path)
	}
	required := map[string]bool{}
	for _, r := range n.Required {
		required[r] = true
	}
	slot := len(c.decls) // the struct comes before the types of its fields
	c.decls = append(c.decls, nil)
	// A field may not share a name with a method of its struct.
	fieldNames := namer{"UnmarshalJSON": true, "MarshalJSON": true}
	var fields []jen.Code
	var reqKeys []string
	for _, k := range keys {
		if err := settings.CheckPropertyName(k); err != nil {
			return "", fmt.Errorf("%s/properties/%s: %w", path, escapePointer(k), err)
		}
		fname := fieldNames.take(shortName(goName(k, "X")))
		var pn schemaNode
		_ = json.Unmarshal(props[k], &pn)
		_, nullable, _ := pn.types()
		t, kind, err := c.typeOf(props[k], name+fname, fmt.Sprintf("the %q property of %s", k, name), path+"/properties/"+escapePointer(k))
		if err != nil {
			return "", err
		}
		req := required[k]
		if req {
			reqKeys = append(reqKeys, k)
		}
		if (!req || nullable) && kind != kindRef {
			t = jen.Op("*").Add(t)
		}
		tag := k
		if k == "-" { // alone, "-" would mean "never encode this field"
			tag += ","
		}
		if !req {
			tag += ",omitempty"
		}
		field := jen.Id(fname).Add(t).Tag(map[string]string{"json": tag})
		fdoc := pn.Description
		if fdoc == "" {
			fdoc = pn.Title
		}
		if fdoc != "" {
			field = commentLines(fdoc).Add(field)
		}
		fields = append(fields, field)
	}
	if n.Description != "" {
		doc += "\n\n" + n.Description
	} else if n.Title != "" {
		doc += "\n\n" + n.Title
	}
	decl := commentLines(doc).Type().Id(name).Struct(fields...)
	if len(reqKeys) > 0 {
		var lits []jen.Code
		for _, k := range reqKeys {
			lits = append(lits, jen.Lit(k))
		}
		decl.Line().Line().
			Comment("UnmarshalJSON decodes v and reports a missing required property.").Line().
			Func().Params(jen.Id("v").Op("*").Id(name)).Id("UnmarshalJSON").Params(jen.Id("b").Index().Byte()).Error().Block(
			jen.If(jen.Err().Op(":=").Qual(runtimePath, "RequireProperties").Call(append([]jen.Code{jen.Id("b")}, lits...)...), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Err()),
			),
			jen.Type().Id("plain").Id(name),
			jen.Return(jen.Qual("encoding/json", "Unmarshal").Call(jen.Id("b"), jen.Parens(jen.Op("*").Id("plain")).Call(jen.Id("v")))),
		)
	}
	c.decls[slot] = decl
	return name, nil
}

// commentLines renders settings text (a schema's description or title) as
// // comment lines that stay comments: see commentSafe.
func commentLines(text string) *jen.Statement {
	s := jen.Null()
	for _, l := range commentSafe(text) {
		if l == "" {
			s.Comment("//").Line()
			continue
		}
		// Rendered as given (a Comment starting with "//" is not
		// reformatted): "// " then the line, which so can never start a
		// directive (//go:generate, //go:build, //line need no space).
		s.Comment("// " + l).Line()
	}
	return s
}

// commentSafe splits settings text into lines that are inert in a // comment:
// every line break Go or an editor knows (LF, CR, CRLF, VT, FF, NEL, U+2028,
// U+2029) ends a line; other control and format characters (NUL, BOM, bidi
// overrides, ...), private-use and invalid UTF-8 are written as \uXXXX
// escapes; a line that go vet would read as a build constraint or directive
// once the comment marker is stripped ("go:build ...", "+build ...") is
// quoted. A line starting with "//" or "/*" stays text after the "// " the
// renderer puts first. Blank lines at both ends are dropped.
func commentSafe(text string) []string {
	var lines []string
	var b strings.Builder
	end := func() {
		lines = append(lines, strings.TrimSpace(b.String()))
		b.Reset()
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\uFFFD`)
		case r == '\r':
			if i < len(text) && text[i] == '\n' {
				i++
			}
			end()
		case r == '\n' || r == '\v' || r == '\f' || r == '\u0085' || r == '\u2028' || r == '\u2029':
			end()
		case r == '\t' || r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	end()
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "go:") || strings.HasPrefix(l, "+build") {
			lines[i] = strconv.Quote(l)
		}
	}
	return lines
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// maxFieldName bounds a field name taken from a property name: nested
// struct types are named after the path of fields leading to them, so long
// names would grow generated code with the square of the nesting depth.
const maxFieldName = 40

// shortName cuts an identifier to maxFieldName runes.
func shortName(id string) string {
	if r := []rune(id); len(r) > maxFieldName {
		return string(r[:maxFieldName])
	}
	return id
}
