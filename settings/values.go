package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
)

// jsonInt is an integer that may be written as 3, 3.0 or 3e0 (JSON Schema
// counts all of them as integers).
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	v, err := int64Of(json.Number(b))
	*n = jsonInt(v)
	return err
}

// jsonSeconds is a duration in seconds, written as a number or, as the
// seed does, a numeric string ("5").
type jsonSeconds time.Duration

func (d *jsonSeconds) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e7 || math.IsNaN(f) {
		return fmt.Errorf("got %s; expected seconds", quoteShort(s))
	}
	*d = jsonSeconds(time.Duration(f * float64(time.Second)))
	return nil
}

// int64Of reads an integral JSON number.
func int64Of(v any) (int64, error) {
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

// integer reads an integral JSON number that fits in an int32.
func integer(v any) (int, error) {
	n, err := int64Of(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("got %d; expected an integer from %d to %d", n, math.MinInt32, math.MaxInt32)
	}
	return int(n), nil
}

// millis reads a count of milliseconds.
func millis(v any) (time.Duration, error) {
	n, err := integer(v)
	return time.Duration(n) * time.Millisecond, err
}

func msPtr(n *jsonInt) time.Duration {
	if n == nil {
		return 0
	}
	return time.Duration(*n) * time.Millisecond
}

// decodeInto converts a decoded JSON tree into a typed value.
func decodeInto(v any, dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(dst)
}
