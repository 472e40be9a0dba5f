// Package configjson reads a client's settings "config" the way kgen's
// settings write it, for a client's Decode (runtime.Client) and for kgen's
// settings package alike: integers that JSON Schema counts as integers
// (3, 3.0, 3e0), durations in milliseconds or in seconds (a number or, as
// the seed writes them, a numeric string), the marks of a ${VAR} reference
// left for the processor to read at start, and the short quoting and JSON
// pointer escaping every message uses.
package configjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Int is an integer that may be written as 3, 3.0 or 3e0.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	v, err := Int64(json.Number(b))
	*n = Int(v)
	return err
}

// Millis is n milliseconds; nil is zero.
func (n *Int) Millis() time.Duration {
	if n == nil {
		return 0
	}
	return time.Duration(*n) * time.Millisecond
}

// Seconds is a duration in seconds, written as a number or, as the seed
// does, a numeric string ("5").
type Seconds time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Seconds) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e7 || math.IsNaN(f) {
		return fmt.Errorf("got %s; expected seconds", QuoteShort(s))
	}
	*d = Seconds(time.Duration(f * float64(time.Second)))
	return nil
}

// Int64 reads an integral JSON number (a json.Number: decode with
// UseNumber).
func Int64(v any) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("got %s; expected an integer", Describe(v))
	}
	if n, err := strconv.ParseInt(string(num), 10, 64); err == nil {
		return n, nil
	}
	f, _, err := big.ParseFloat(string(num), 10, 256, big.ToNearestEven)
	if err != nil || !f.IsInt() {
		return 0, fmt.Errorf("got %s; expected an integer", num)
	}
	n, acc := f.Int64()
	if acc != big.Exact {
		return 0, fmt.Errorf("got %s; expected an integer that fits in 64 bits", num)
	}
	return n, nil
}

// Int32 reads an integral JSON number that fits in an int32.
func Int32(v any) (int, error) {
	n, err := Int64(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("got %d; expected an integer from %d to %d", n, math.MinInt32, math.MaxInt32)
	}
	return int(n), nil
}

// Millis reads a count of milliseconds.
func Millis(v any) (time.Duration, error) {
	n, err := Int32(v)
	return time.Duration(n) * time.Millisecond, err
}

// DecodeInto converts a decoded JSON tree (numbers as json.Number) into a
// typed value.
func DecodeInto(v any, dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(dst)
}

// DeferredMark and DeferredEnd enclose the name of a ${VAR} reference left
// unresolved for the processor to read when it starts; settings refuse
// input holding either rune, so no settings text can pass for one.
const (
	DeferredMark = '\uE000'
	DeferredEnd  = '\uE001'
)

// IsDeferred reports whether s holds a reference read at start: its value
// is not known yet.
func IsDeferred(s string) bool { return strings.ContainsRune(s, DeferredMark) }

// ShowDeferred writes the references read at start in s as ${NAME}.
func ShowDeferred(s string) string {
	if !IsDeferred(s) {
		return s
	}
	return strings.NewReplacer(string(DeferredMark), "${", string(DeferredEnd), "}").Replace(s)
}

// QuoteShort quotes s for a message, cut to 40 characters, references read
// at start shown as ${NAME}.
func QuoteShort(s string) string {
	s = ShowDeferred(s)
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return strconv.Quote(string(r[:max-3])) + "..."
	}
	return strconv.Quote(s)
}

// Describe shows a decoded JSON value in a message: scalars as JSON,
// containers by kind.
func Describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return QuoteShort(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		if len(v) == 0 {
			return "an empty object"
		}
		return "an object"
	case []any:
		if len(v) == 0 {
			return "an empty array"
		}
		return "an array"
	}
	return fmt.Sprint(v)
}

// EscapePointer escapes s as one JSON pointer reference token (RFC 6901).
func EscapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
