package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kgen-dev/kgen/runtime"
)

// The settings schema (schema/settings.schema.json) is assembled from a
// base (schema/base.schema.json: everything but the clients) and the
// settings schema fragment of every client (runtime.Client.Schema): each
// client's fragment becomes the definition <name>_config, the definitions
// it refers to join the schema's $defs, and the inbound_client and
// outbound_client definitions get the names and their if/then rules.
// TestSchemaUpToDate checks the file; go test ./settings -run
// SchemaUpToDate -update rewrites it.

// schemaOptionalConfig is the fragment keyword of a client whose "config"
// may be left out of the settings (stdout); it is not copied into the
// settings schema.
const schemaOptionalConfig = "x-config-optional"

// assembleSchema returns the settings schema made of base and the
// fragments of clients, in the order given (the order of their names in
// the schema and its messages).
func assembleSchema(base []byte, clients []runtime.Client) ([]byte, error) {
	root, err := parseOrdered(base)
	if err != nil {
		return nil, fmt.Errorf("base schema: %w", err)
	}
	defs := root.get("$defs")
	if defs == nil || defs.kind != '{' {
		return nil, errors.New("base schema: no $defs object")
	}
	for _, dir := range []runtime.Direction{runtime.Inbound, runtime.Outbound} {
		def := defs.get(dir.String() + "_client")
		if def == nil {
			return nil, fmt.Errorf("base schema: no $defs/%s_client", dir)
		}
		var names []string
		var rules []*ojson
		for _, c := range clients {
			if c.Direction != dir {
				continue
			}
			names = append(names, c.Name)
			frag, err := parseOrdered(c.Schema)
			if err != nil {
				return nil, fmt.Errorf("client %s: schema: %w", c.Name, err)
			}
			optional := frag.get(schemaOptionalConfig) != nil
			if sub := frag.get("$defs"); sub != nil {
				for _, m := range sub.obj {
					if have := defs.get(m.key); have != nil {
						if !bytes.Equal(have.encode(), m.val.encode()) {
							return nil, fmt.Errorf("client %s: definition %s differs from the settings schema's", c.Name, m.key)
						}
						continue
					}
					defs.set(m.key, m.val)
				}
			}
			frag.del("$defs", "$schema", "$id", schemaOptionalConfig)
			if defs.get(c.Name+"_config") != nil {
				return nil, fmt.Errorf("client %s: definition %s_config is already in the base schema", c.Name, c.Name)
			}
			defs.set(c.Name+"_config", frag)
			rules = append(rules, clientRule(c.Name, optional))
		}
		props := def.get("properties")
		if props == nil {
			return nil, fmt.Errorf("base schema: $defs/%s_client has no properties", dir)
		}
		quoted := make([]string, len(names))
		enum := &ojson{kind: '['}
		for i, n := range names {
			quoted[i] = strconv.Quote(n)
			enum.arr = append(enum.arr, scalar(n))
		}
		name := &ojson{kind: '{'}
		name.set("description", scalar(fmt.Sprintf("Which %s client: %s, or with custom: true the name of your own.", dir, orList(quoted))))
		name.set("type", scalar("string"))
		props.set("name", name)
		def.set("allOf", &ojson{kind: '[', arr: append([]*ojson{customRule(enum)}, rules...)})
	}
	out := root.encode()
	return append(out, '\n'), nil
}

// customRule is the rule telling a custom client ("custom": true: the
// project's own, registered there) from a built-in one: a custom client's
// name is any lower-case name but a built-in one's (names) and its config
// any object; otherwise the name is a built-in one and config_schema, which
// only a custom client needs, is refused.
func customRule(names *ojson) *ojson {
	cond := &ojson{kind: '{'}
	customConst := &ojson{kind: '{'}
	customConst.set("const", scalar(true))
	condProps := &ojson{kind: '{'}
	condProps.set("custom", customConst)
	cond.set("properties", condProps)
	cond.set("required", &ojson{kind: '[', arr: []*ojson{scalar("custom")}})

	notBuiltin := &ojson{kind: '{'}
	notBuiltin.set("enum", names)
	customName := &ojson{kind: '{'}
	customName.set("description", scalar("The name your code registers the client under (runtime.Client.Name)."))
	customName.set("pattern", scalar("^[a-z][a-z0-9_]{0,63}$"))
	customName.set("not", notBuiltin)
	customName.set("x-expected", scalar("the name of your own client: lower case letters, digits and _, starting with a letter, at most 64 characters, not a built-in client's name"))
	customConfig := &ojson{kind: '{'}
	customConfig.set("description", scalar("The client's own configuration, a JSON object handed to it as it is."))
	customConfig.set("type", scalar("object"))
	thenProps := &ojson{kind: '{'}
	thenProps.set("name", customName)
	thenProps.set("config", customConfig)
	then := &ojson{kind: '{'}
	then.set("properties", thenProps)

	builtinName := &ojson{kind: '{'}
	builtinName.set("description", scalar("A built-in client's name."))
	builtinName.set("enum", names)
	elseProps := &ojson{kind: '{'}
	elseProps.set("name", builtinName)
	elseProps.set("config_schema", &ojson{raw: []byte("false")})
	els := &ojson{kind: '{'}
	els.set("properties", elseProps)
	els.set("x-message", scalar(`config_schema is only for a custom client ("custom": true)`))

	rule := &ojson{kind: '{'}
	rule.set("if", cond)
	rule.set("then", then)
	rule.set("else", els)
	return rule
}

// clientRule is the if/then rule checking the config of the client name.
func clientRule(name string, optional bool) *ojson {
	cond := &ojson{kind: '{'}
	nameConst := &ojson{kind: '{'}
	nameConst.set("const", scalar(name))
	condProps := &ojson{kind: '{'}
	condProps.set("name", nameConst)
	cond.set("properties", condProps)
	cond.set("required", &ojson{kind: '[', arr: []*ojson{scalar("name")}})
	then := &ojson{kind: '{'}
	if !optional {
		then.set("required", &ojson{kind: '[', arr: []*ojson{scalar("config")}})
	}
	ref := &ojson{kind: '{'}
	ref.set("$ref", scalar("#/$defs/"+name+"_config"))
	thenProps := &ojson{kind: '{'}
	thenProps.set("config", ref)
	then.set("properties", thenProps)
	rule := &ojson{kind: '{'}
	rule.set("if", cond)
	rule.set("then", then)
	return rule
}

// orList is "a", "a or b", "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// ojson is a JSON value that keeps the order of object members, so that
// the assembled schema reads in the order its parts are written.
type ojson struct {
	kind byte // '{', '[' or 0 for a scalar
	obj  []omember
	arr  []*ojson
	raw  []byte // a scalar's JSON text
}

type omember struct {
	key string
	val *ojson
}

func scalar(v any) *ojson {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &ojson{raw: b}
}

func (o *ojson) get(key string) *ojson {
	for _, m := range o.obj {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// set replaces the member key in place, or appends it.
func (o *ojson) set(key string, v *ojson) {
	for i, m := range o.obj {
		if m.key == key {
			o.obj[i].val = v
			return
		}
	}
	o.obj = append(o.obj, omember{key, v})
}

func (o *ojson) del(keys ...string) {
	out := o.obj[:0]
	for _, m := range o.obj {
		keep := true
		for _, k := range keys {
			keep = keep && m.key != k
		}
		if keep {
			out = append(out, m)
		}
	}
	o.obj = out
}

func parseOrdered(b []byte) (*ojson, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (*ojson, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &ojson{kind: '{'}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.obj = append(o.obj, omember{k.(string), v})
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			o := &ojson{kind: '['}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.arr = append(o.arr, v)
			}
			_, err := dec.Token() // ']'
			return o, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return &ojson{raw: []byte(t)}, nil
	default:
		return scalar(t), nil
	}
}

// scalars says whether o is an array of scalars only.
func (o *ojson) scalars() bool {
	for _, v := range o.arr {
		if v.kind != 0 {
			return false
		}
	}
	return true
}

// encode writes o as json.MarshalIndent(v, "", "  ") would, except that
// an array of scalars goes on one line.
func (o *ojson) encode() []byte {
	var b bytes.Buffer
	o.write(&b, 0)
	return b.Bytes()
}

func (o *ojson) write(b *bytes.Buffer, depth int) {
	indent := func(d int) {
		b.WriteByte('\n')
		for range d {
			b.WriteString("  ")
		}
	}
	switch o.kind {
	case '{':
		if len(o.obj) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, m := range o.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			k, _ := json.Marshal(m.key)
			b.Write(k)
			b.WriteString(": ")
			m.val.write(b, depth+1)
		}
		indent(depth)
		b.WriteByte('}')
	case '[':
		if len(o.arr) == 0 {
			b.WriteString("[]")
			return
		}
		if o.scalars() { // short lists of names read best on one line
			b.WriteByte('[')
			for i, v := range o.arr {
				if i > 0 {
					b.WriteString(", ")
				}
				b.Write(v.raw)
			}
			b.WriteByte(']')
			return
		}
		b.WriteByte('[')
		for i, v := range o.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			v.write(b, depth+1)
		}
		indent(depth)
		b.WriteByte(']')
	default:
		b.Write(o.raw)
	}
}
