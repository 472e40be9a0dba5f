package kafkapython

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// JSONInt is an integer that may be written as 3, 3.0 or 3e0 (JSON Schema
// counts all of them as integers).
type JSONInt int64

func (n *JSONInt) UnmarshalJSON(b []byte) error {
	v, err := Int64Of(json.Number(b))
	*n = JSONInt(v)
	return err
}

// Millis is n milliseconds; nil is zero.
func (n *JSONInt) Millis() time.Duration {
	if n == nil {
		return 0
	}
	return time.Duration(*n) * time.Millisecond
}

// JSONSeconds is a duration in seconds, written as a number or, as the
// seed does, a numeric string ("5").
type JSONSeconds time.Duration

func (d *JSONSeconds) UnmarshalJSON(b []byte) error {
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
	*d = JSONSeconds(time.Duration(f * float64(time.Second)))
	return nil
}

// Int64Of reads an integral JSON number (a json.Number: decode with
// UseNumber).
func Int64Of(v any) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("got %s; expected an integer", short(v))
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

// Integer reads an integral JSON number that fits in an int32.
func Integer(v any) (int, error) {
	n, err := Int64Of(v)
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
	n, err := Integer(v)
	return time.Duration(n) * time.Millisecond, err
}

// Settings marks a ${VAR} reference that is read when the processor
// starts with these runes around the name (settings.DeferredMark and
// settings.DeferredEnd); messages show it as ${VAR}.
const (
	deferredMark = '\uE000'
	deferredEnd  = '\uE001'
)

// Deferred reports whether s holds a ${VAR} read when the processor starts:
// its value is not known yet.
func Deferred(s string) bool { return strings.ContainsRune(s, deferredMark) }

// QuoteShort quotes s for a message, shortened to 40 characters, with
// references read at start shown as ${VAR}.
func QuoteShort(s string) string {
	if Deferred(s) {
		s = strings.NewReplacer(string(deferredMark), "${", string(deferredEnd), "}").Replace(s)
	}
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return strconv.Quote(string(r[:max-3])) + "..."
	}
	return strconv.Quote(s)
}

// short describes a JSON value for a message.
func short(v any) string {
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

// EscapePointer escapes s as one JSON pointer token.
func EscapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
