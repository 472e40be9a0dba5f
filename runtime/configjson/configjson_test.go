package configjson

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestValues(t *testing.T) {
	for _, tt := range []struct {
		in      string
		int32   int
		seconds time.Duration
		err     string // of Int32; "" when it reads
	}{
		{"3", 3, 3 * time.Second, ""},
		{"3.0", 3, 3 * time.Second, ""},
		{"3e0", 3, 3 * time.Second, ""},
		{"2.5", 0, 2500 * time.Millisecond, "got 2.5; expected an integer"},
		{"4294967296", 0, 0, "expected an integer from"},
		{`"5"`, 0, 5 * time.Second, `got "5"; expected an integer`},
	} {
		var v any
		dec := json.NewDecoder(strings.NewReader(tt.in))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		n, err := Int32(v)
		if tt.err == "" && (err != nil || n != tt.int32) || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Int32(%s) = %d, %v; want %d, %q", tt.in, n, err, tt.int32, tt.err)
		}
		var s Seconds
		if err := json.Unmarshal([]byte(tt.in), &s); tt.seconds != 0 && (err != nil || time.Duration(s) != tt.seconds) {
			t.Errorf("Seconds(%s) = %v, %v; want %v", tt.in, time.Duration(s), err, tt.seconds)
		}
	}
	if got := QuoteShort("a" + string(DeferredMark) + "HOST" + string(DeferredEnd)); got != `"a${HOST}"` {
		t.Errorf("QuoteShort of a reference read at start = %s", got)
	}
	if got := EscapePointer("a/b~c"); got != "a~1b~0c" {
		t.Errorf("EscapePointer = %s", got)
	}
}
