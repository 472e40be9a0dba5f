package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// Limits of a settings file. Parse checks them in one streaming pass over
// the tokens before anything else reads the file, so that no file, however
// crafted, costs more than that pass: deep nesting, huge objects and long
// names are refused at their place, before the locator, the schema
// validation, the payload schemas' compilation or the generator see them.
// jsonschema's compile time is quadratic in a schema's size: measured here,
// 8000 properties took 2.1 s with v5 and 1.0 s with v6, 30000 took 65 s
// with v5 and 20 s with v6 (also 30 objects of 1000 properties: 100 s and
// 28 s). v6 does not remove the square, so kgen keeps v5 (the design card's
// choice) and bounds the size instead. A real settings
// file is a few kilobytes, tens of members deep at most.
const (
	// MaxFileBytes is the largest settings file read.
	MaxFileBytes = 1 << 20
	// MaxDepth is the deepest nesting of objects and arrays.
	MaxDepth = 64
	// MaxMembers is the most members one object may have.
	MaxMembers = 1000
	// MaxNameBytes is the longest member name, in bytes.
	MaxNameBytes = 256
	// MaxValues is the most values (objects, arrays, scalars) in a file.
	MaxValues = 20000
	// MaxSchemaValues is the most values in one payload schema: at about
	// two values a property, some 2000 properties, which jsonschema
	// compiles in a tenth of a second.
	MaxSchemaValues = 4000
)

// limitError is a limit exceeded at a byte offset of the file.
type limitError struct {
	ptr string
	off int
	msg string
}

// checkLimits walks data's tokens once and returns the first limit it
// exceeds. A syntax error ends the walk without a result: checkSyntax
// reports it.
func checkLimits(data []byte) *limitError {
	type frame struct {
		ptr     string
		obj     bool
		wantKey bool
		key     string
		n       int // members or items so far
		schema  int // index into schemaValues, or -1
	}
	var stack []*frame
	schemaValues := [2]int{}
	schemaPtrs := [2]string{"/payload/inbound/schema", "/payload/outbound/schema"}
	values := 0
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		off := skipSeparators(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF or a syntax error
		}
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			k, _ := tok.(string)
			top.key, top.wantKey = k, false
			top.n++
			if top.n > MaxMembers {
				return &limitError{top.ptr, off, fmt.Sprintf("more than %d members in one object (the limit)", MaxMembers)}
			}
			if len(k) > MaxNameBytes {
				return &limitError{top.ptr + "/" + configjson.EscapePointer(k[:MaxNameBytes/4]) + "...", off,
					fmt.Sprintf("member name of %d bytes; names are limited to %d bytes", len(k), MaxNameBytes)}
			}
			continue
		}
		ptr, schema := "", -1
		if top != nil {
			schema = top.schema
			if top.obj {
				ptr = top.ptr + "/" + configjson.EscapePointer(top.key)
				top.wantKey = true
			} else {
				ptr = top.ptr + "/" + strconv.Itoa(top.n)
				top.n++
			}
		}
		values++
		if values > MaxValues {
			return &limitError{ptr, off, fmt.Sprintf("more than %d values in the file (the limit)", MaxValues)}
		}
		for i, p := range schemaPtrs {
			if ptr == p {
				schema = i
			}
		}
		if schema >= 0 {
			schemaValues[schema]++
			if schemaValues[schema] > MaxSchemaValues {
				return &limitError{schemaPtrs[schema], off, fmt.Sprintf("the payload schema has more than %d values (the limit; about %d properties)", MaxSchemaValues, MaxSchemaValues/2)}
			}
		}
		if isDelim {
			if len(stack) == MaxDepth {
				return &limitError{ptr, off, fmt.Sprintf("nested deeper than %d levels (the limit)", MaxDepth)}
			}
			stack = append(stack, &frame{ptr: ptr, obj: d == '{', wantKey: d == '{', schema: schema})
		}
	}
}

// lineColOf returns the 1-based line and column of byte offset off.
func lineColOf(data []byte, off int) (line, col int) {
	off = min(off, len(data))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	return line, off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
}

// ReadFile reads the settings file at path, refusing one larger than
// MaxFileBytes without reading it all (a settings path may name a device
// or a pipe).
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, errTooLarge
	}
	return data, nil
}

var errTooLarge = errors.New(tooLargeMessage)

var tooLargeMessage = fmt.Sprintf("the file is larger than %d bytes (the limit for a settings file)", MaxFileBytes)
