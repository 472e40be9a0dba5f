package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pending is a diagnostic not yet given a position.
type pending struct {
	Diagnostic
	// atKey locates the member name rather than its value (for members
	// that should not be there).
	atKey bool
}

func errorAt(ptr, msg string) pending {
	return pending{Diagnostic: Diagnostic{Severity: Error, Pointer: ptr, Message: msg}}
}

// Parse reads a settings file's contents. file names it in diagnostics
// (it is not opened); env looks up ${ENV_VAR} references (nil: none is
// set). It reports every problem at once, sorted by position, and returns
// nil Settings when any of them is an Error. It never panics.
func Parse(file string, data []byte, env func(string) (string, bool)) (*Settings, []Diagnostic) {
	return ParseWith(file, data, env, Options{})
}

// Options change what ParseWith checks beyond Parse.
type Options struct {
	// ClientSchemas checks the config of each custom client against the
	// JSON Schema file its config_schema names (relative to file's
	// directory), and warns about a custom client without one: kgen
	// cannot see the client's code. kgen sets it (validate, vet, init,
	// generate); a processor does not: it checks a custom client's config
	// against the schema of the client it registered when it starts.
	ClientSchemas bool
}

// ParseWith is Parse with opts.
func ParseWith(file string, data []byte, env func(string) (string, bool), opts Options) (*Settings, []Diagnostic) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		// A byte-order mark, as some editors write: blank it out so that
		// offsets (and so columns) stay those of the file.
		data = append([]byte("   "), data[3:]...)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, []Diagnostic{{Severity: Error, File: file, Message: "the file is empty; expected a JSON object with the settings"}}
	}
	if len(data) > MaxFileBytes {
		return nil, []Diagnostic{{Severity: Error, File: file, Message: tooLargeMessage}}
	}
	if le := checkLimits(data); le != nil {
		d := Diagnostic{Severity: Error, File: file, Pointer: le.ptr, Message: le.msg}
		d.Line, d.Col = lineColOf(data, le.off)
		return nil, []Diagnostic{d}
	}
	loc := newLocator(data)
	if err := checkSyntax(data); err != nil {
		d := Diagnostic{Severity: Error, File: file, Message: "malformed JSON: " + err.Error()}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset) - 1 // Offset counts the bad byte
			d.Line, d.Col = loc.lineCol(max(off, 0))
		}
		return nil, []Diagnostic{d}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil { // cannot happen after checkSyntax
		return nil, []Diagnostic{{Severity: Error, File: file, Message: "malformed JSON: " + err.Error()}}
	}
	if _, ok := tree.(map[string]any); !ok {
		line, col := loc.position("", false)
		return nil, []Diagnostic{{Severity: Error, File: file, Line: line, Col: col,
			Message: "the settings must be a JSON object ({...}); got " + kindOf(tree)}}
	}

	var diags []pending
	for _, d := range loc.dups {
		diags = append(diags, pending{Diagnostic: Diagnostic{Severity: Error, Pointer: d.ptr,
			Message: "duplicate member name; a name may appear once per object"}})
		diags[len(diags)-1].Line, diags[len(diags)-1].Col = loc.lineCol(d.key)
	}
	tree, in := interpolate(tree, env, customConfigs(tree))
	for _, d := range in.diags {
		diags = append(diags, pending{Diagnostic: d})
	}
	diags = append(diags, validate(tree, in)...)

	var s *Settings
	if !hasError(diags) {
		cx := converter{file: file, opts: opts, fromEnv: in.fromEnv, deferred: in.deferred, written: in.written, payloadSchemas: payloadSchemas(data)}
		s = cx.convert(tree)
		diags = append(diags, cx.diags...)
	}

	scrub := secretScrubber(tree, in)
	out := make([]Diagnostic, len(diags))
	for i, d := range diags {
		d.Message = scrub(d.Message)
		if d.Line == 0 {
			d.Line, d.Col = loc.position(d.Pointer, d.atKey)
		}
		d.File = file
		out[i] = d.Diagnostic
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Pointer != b.Pointer {
			return a.Pointer < b.Pointer
		}
		return a.Message < b.Message
	})
	if hasError(diags) {
		return nil, out
	}
	return s, out
}

// checkSyntax reports the first syntax error of data, with its offset.
func checkSyntax(data []byte) error {
	var raw json.RawMessage
	return json.Unmarshal(data, &raw)
}

// payloadSchemas returns the payload schemas as written (compacted), key
// order kept: generated types follow it.
func payloadSchemas(data []byte) map[string]json.RawMessage {
	var doc struct {
		Payload struct {
			Inbound, Outbound struct {
				Schema json.RawMessage `json:"schema"`
			}
		} `json:"payload"`
	}
	out := map[string]json.RawMessage{}
	if json.Unmarshal(data, &doc) != nil {
		return out
	}
	for dir, raw := range map[string]json.RawMessage{"inbound": doc.Payload.Inbound.Schema, "outbound": doc.Payload.Outbound.Schema} {
		var b bytes.Buffer
		if len(raw) > 0 && json.Compact(&b, raw) == nil && b.String() != "null" {
			out[dir] = b.Bytes()
		}
	}
	return out
}

func hasError(diags []pending) bool {
	for _, d := range diags {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an object"
}

// Load reads and parses the settings file at path, with ${ENV_VAR}
// references taken from the process environment.
func Load(path string) (*Settings, []Diagnostic) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with opts (see ParseWith).
func LoadWith(path string, opts Options) (*Settings, []Diagnostic) {
	data, err := ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, []Diagnostic{{Severity: Error, File: path, Message: "reading settings: " + err.Error()}}
	}
	return ParseWith(path, data, os.LookupEnv, opts)
}

// Format renders d on one line, leaving out what is unknown:
//
//	file:line:col: error: /pointer: message
func Format(d Diagnostic) string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
	}
	if d.Line > 0 {
		if d.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(d.Line))
		if d.Col > 0 {
			b.WriteString(":" + strconv.Itoa(d.Col))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	sev := d.Severity
	if sev == "" {
		sev = Error
	}
	b.WriteString(string(sev) + ": ")
	if d.Pointer != "" {
		b.WriteString(printable(d.Pointer) + ": ")
	}
	b.WriteString(printable(d.Message))
	return b.String()
}

// printable escapes what would break a diagnostic's line or fool a
// terminal (control, format and line-separator characters, invalid
// UTF-8), as Go escapes them in a quoted string: member names are written
// into pointers as given.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// Summarize returns diags for a reader: two or more warnings about
// options without effect (NoEffect set) become one warning naming the
// options, at the place of the first; the others are kept as they are,
// in order. "kgen vet --verbose" shows diags without Summarize.
func Summarize(diags []Diagnostic) []Diagnostic {
	var names []string
	seen := map[string]bool{}
	first := -1
	for i, d := range diags {
		if d.NoEffect == "" {
			continue
		}
		if first < 0 {
			first = i
		}
		if !seen[d.NoEffect] {
			seen[d.NoEffect] = true
			names = append(names, d.NoEffect)
		}
	}
	if len(names) < 2 {
		return diags
	}
	out := make([]Diagnostic, 0, len(diags))
	for i, d := range diags {
		switch {
		case i == first:
			out = append(out, Diagnostic{
				Severity: Warning,
				File:     d.File,
				Message: fmt.Sprintf("%d options have no effect here: %s; `kgen vet --verbose` explains each",
					len(names), strings.Join(names, ", ")),
			})
		case d.NoEffect == "":
			out = append(out, d)
		}
	}
	return out
}
