package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/kgen-dev/kgen/runtime/configjson"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
	"github.com/kgen-dev/kgen/schema"
)

// schemaDoc is the settings schema decoded, to explain validation errors
// in the schema's own terms.
var schemaDoc = sync.OnceValues(func() (any, error) {
	var doc any
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	return doc, nil
})

// validate checks the decoded document v against the settings schema and
// returns one diagnostic (without position) per leaf error.
func validate(v any, in interpolation) []pending {
	sch, err := schema.Compiled()
	if err != nil {
		return []pending{errorAt("", err.Error())}
	}
	doc, err := schemaDoc()
	if err != nil {
		return []pending{errorAt("", err.Error())}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []pending{errorAt("", err.Error())}
	}
	t := translator{doc: doc, instance: v, seen: map[string]bool{}, deferred: in.deferred, written: in.written}
	t.walk(ve)
	return t.diags
}

type translator struct {
	doc      any
	instance any
	diags    []pending
	seen     map[string]bool
	// deferred are the pointers of values with an unresolved ${VAR}.
	deferred map[string]bool
	// written are strings with a ${VAR} as the file wrote them.
	written map[string]string
}

// show renders the value at ptr in a message: a secret is never shown,
// a string from ${VAR} is shown as written and as resolved.
func (t *translator) show(ptr string, v any) string {
	if isSecretPointer(ptr) {
		return secretShown
	}
	if w, ok := t.written[ptr]; ok {
		if t.deferred[ptr] {
			return configjson.QuoteShort(w)
		}
		return configjson.QuoteShort(w) + " (= " + configjson.Describe(v) + ")"
	}
	return configjson.Describe(v)
}

func (t *translator) add(ptr, msg string, key bool) {
	if t.seen[ptr+"\x00"+msg] {
		return
	}
	t.seen[ptr+"\x00"+msg] = true
	t.diags = append(t.diags, pending{Diagnostic{Severity: Error, Pointer: ptr, Message: msg}, key})
}

// walk flattens the error tree to its leaves. A combinator whose schema
// carries "x-message" counts as a leaf: its branches' errors would only
// confuse.
func (t *translator) walk(e *jsonschema.ValidationError) {
	frag := fragment(e.AbsoluteKeywordLocation)
	kw := lastToken(frag)
	parent, _ := t.node(parentPointer(frag))
	if len(e.Causes) == 0 || (isCombinator(kw) && parent["x-message"] != nil) {
		t.leaf(e, frag, kw, parent)
		return
	}
	for _, c := range e.Causes {
		t.walk(c)
	}
}

func isCombinator(kw string) bool {
	return kw == "anyOf" || kw == "oneOf" || kw == "not"
}

func (t *translator) leaf(e *jsonschema.ValidationError, frag, kw string, parent map[string]any) {
	ptr := e.InstanceLocation
	value, _ := lookup(t.instance, ptr)
	if _, ok := value.(string); ok && t.deferred[ptr] {
		switch kw {
		case "pattern", "format", "minLength", "maxLength", "enum":
			// A ${VAR} left unresolved on purpose (kgen generates code
			// that reads it at start): its value is checked then.
			return
		}
	}
	if self, ok := t.rawNode(frag); ok && self == false && kw != "additionalProperties" {
		// A false schema: the property may not be here. Its explanation
		// sits on the schema holding "properties".
		holder, _ := t.node(parentPointer(parentPointer(frag)))
		if msg, ok := holder["x-message"].(string); ok {
			t.add(ptr, msg, true)
		} else {
			t.add(ptr, "not allowed here", true)
		}
		return
	}
	if msg, ok := parent["x-message"].(string); ok {
		t.add(ptr, msg, false)
		return
	}
	switch kw {
	case "required":
		obj, _ := value.(map[string]any)
		for _, r := range stringList(parent["required"]) {
			if _, ok := obj[r]; !ok {
				t.add(ptr, fmt.Sprintf("missing required property %q", r), false)
			}
		}
	case "additionalProperties":
		t.unknownProperties(ptr, value, frag, parent)
	case "enum":
		t.add(ptr, t.enumMessage(ptr, value, frag, parent), false)
	case "uniqueItems":
		var i, j int
		if _, err := fmt.Sscanf(e.Message, "items at index %d and %d are equal", &i, &j); err == nil {
			t.add(ptr+"/"+strconv.Itoa(j), fmt.Sprintf("got %s again (also at index %d); items must be unique", t.show(ptr+"/"+strconv.Itoa(j), value.([]any)[j]), i), false)
			return
		}
		t.add(ptr, "items must be unique", false)
	case "not":
		if _, ok := parent["x-expected"]; !ok {
			t.add(ptr, e.Message, false)
			return
		}
		t.add(ptr, fmt.Sprintf("got %s; expected %s", t.show(ptr, value), t.describe(parent)), false)
	case "type", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
		"minLength", "maxLength", "pattern", "minItems", "maxItems", "format":
		t.add(ptr, fmt.Sprintf("got %s; expected %s", t.show(ptr, value), t.describe(parent)), false)
	default:
		t.add(ptr, e.Message, false)
	}
}

// enumMessage explains a value outside an enum, with a suggestion.
func (t *translator) enumMessage(ptr string, value any, frag string, parent map[string]any) string {
	var names []string
	for _, v := range anyList(parent["enum"]) {
		if s, ok := v.(string); ok {
			names = append(names, s)
		}
	}
	s, isString := value.(string)
	if strings.Contains(frag, "_client/") && strings.HasSuffix(parentPointer(frag), "/properties/name") {
		hint := didYouMean(s, names)
		if hint == "" {
			hint = "; a client of your own needs \"custom\": true"
		}
		return fmt.Sprintf("unknown client name %s; valid names: %s%s", t.show(ptr, value), strings.Join(names, ", "), hint)
	}
	hint := ""
	if c := suggest(s, names); isString && c != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", c)
	}
	if isSecretPointer(ptr) {
		hint = ""
	}
	return fmt.Sprintf("got %s%s; expected %s", t.show(ptr, value), hint, t.describe(parent))
}

// unknownProperties reports each member of the object at ptr that its
// schema does not define, at the member's name.
func (t *translator) unknownProperties(ptr string, value any, frag string, parent map[string]any) {
	obj, _ := value.(map[string]any)
	props, _ := parent["properties"].(map[string]any)
	known := make([]string, 0, len(props))
	for k := range props {
		known = append(known, k)
	}
	sort.Strings(known)
	var unknown []string
	for k := range obj {
		if _, ok := props[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	def := lastToken(parentPointer(frag))
	for _, k := range unknown {
		var msg string
		switch def {
		case "kafka_consumer_client_config":
			msg = unknownOption(k, "consumer", known, optionNames(producer.Options()))
		case "kafka_producer_client_config":
			msg = unknownOption(k, "producer", known, optionNames(consumer.Options()))
		default:
			msg = fmt.Sprintf("unknown property %s", configjson.QuoteShort(k))
			if c := suggest(k, known); c != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", c)
			} else if len(known) <= 12 {
				msg += "; valid properties: " + strings.Join(known, ", ")
			}
		}
		t.add(ptr+"/"+configjson.EscapePointer(k), msg, true)
	}
}

func unknownOption(k, kind string, known, other []string) string {
	if c := suggest(k, known); c != "" {
		return fmt.Sprintf("unknown kafka-python %s option %s (did you mean %q?)", kind, configjson.QuoteShort(k), c)
	}
	otherKind := "producer"
	if kind == "producer" {
		otherKind = "consumer"
	}
	for _, o := range other {
		if o == k {
			return fmt.Sprintf("%q is a kafka-python %s option, not a %s option", k, otherKind, kind)
		}
	}
	return fmt.Sprintf("unknown kafka-python %s option %s", kind, configjson.QuoteShort(k))
}

// describe says in words what the schema node n accepts.
func (t *translator) describe(n map[string]any) string {
	if s, ok := n["x-expected"].(string); ok {
		return s
	}
	if ref, ok := n["$ref"].(string); ok && n["type"] == nil && n["enum"] == nil && n["const"] == nil {
		if target, ok := t.node(strings.TrimPrefix(ref, "#")); ok {
			return t.describe(target)
		}
	}
	if c, ok := n["const"]; ok {
		return "exactly " + jsonText(c)
	}
	if e, ok := n["enum"].([]any); ok {
		parts := make([]string, len(e))
		for i, v := range e {
			parts[i] = jsonText(v)
		}
		return "one of " + strings.Join(parts, ", ")
	}
	var parts []string
	for _, typ := range stringList(n["type"]) {
		parts = append(parts, describeType(typ, n))
	}
	if len(parts) == 0 {
		return "a valid value"
	}
	return strings.Join(parts, " or ")
}

func describeType(typ string, n map[string]any) string {
	switch typ {
	case "integer", "number":
		s := "an integer"
		if typ == "number" {
			s = "a number"
		}
		lo, hasLo := n["minimum"]
		hi, hasHi := n["maximum"]
		switch {
		case hasLo && hasHi:
			s += " from " + jsonText(lo) + " to " + jsonText(hi)
		case hasLo:
			s += " >= " + jsonText(lo)
		case hasHi:
			s += " <= " + jsonText(hi)
		}
		return s
	case "string":
		s := "a string"
		if m, ok := n["minLength"].(float64); ok && m == 1 {
			s = "a non-empty string"
		} else if ok {
			s += fmt.Sprintf(" of at least %v characters", m)
		}
		if p, ok := n["pattern"].(string); ok {
			s += " matching " + p
		}
		return s
	case "array":
		if m, ok := n["minItems"].(float64); ok && m == 1 {
			return "a non-empty array"
		} else if ok {
			return fmt.Sprintf("an array of at least %v items", m)
		}
		return "an array"
	case "object":
		return "an object"
	case "boolean":
		return "true or false"
	case "null":
		return "null"
	}
	return typ
}

// node returns the schema object at a JSON pointer into the schema.
func (t *translator) node(ptr string) (map[string]any, bool) {
	v, ok := t.rawNode(ptr)
	m, isMap := v.(map[string]any)
	return m, ok && isMap
}

func (t *translator) rawNode(ptr string) (any, bool) {
	return lookup(t.doc, ptr)
}

// fragment returns the JSON pointer after "#" in a schema location.
func fragment(loc string) string {
	if i := strings.IndexByte(loc, '#'); i >= 0 {
		return loc[i+1:]
	}
	return ""
}

func parentPointer(ptr string) string {
	if i := strings.LastIndexByte(ptr, '/'); i >= 0 {
		return ptr[:i]
	}
	return ""
}

func lastToken(ptr string) string {
	toks := splitPointer(ptr)
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1]
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

// stringList reads a JSON string or array of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// optionNames are the names of a Kafka client's kafka-python options
// (consumer.Options, producer.Options), sorted.
func optionNames(opts map[string]string) []string {
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
