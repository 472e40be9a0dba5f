package runtime

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Types shaped as kgen generates them from a payload schema.
type testUser struct {
	ID      int64           `json:"id"`
	Name    string          `json:"name"`
	Score   *float64        `json:"score,omitempty"`
	Tags    []string        `json:"tags,omitempty"`
	Address testAddress     `json:"address"`
	Orders  []testOrder     `json:"orders,omitempty"`
	Extra   json.RawMessage `json:"extra,omitempty"`
	Small   *int8           `json:"small,omitempty"`
	Meta    map[string]bool `json:"meta,omitempty"`
}

func (v *testUser) UnmarshalJSON(b []byte) error {
	if err := RequireProperties(b, "id", "name", "address"); err != nil {
		return err
	}
	type plain testUser
	return json.Unmarshal(b, (*plain)(v))
}

type testAddress struct {
	City    string  `json:"city"`
	ZipCode *string `json:"zip/code,omitempty"`
}

func (v *testAddress) UnmarshalJSON(b []byte) error {
	if err := RequireProperties(b, "city"); err != nil {
		return err
	}
	type plain testAddress
	return json.Unmarshal(b, (*plain)(v))
}

type testOrder struct {
	Total *float64 `json:"total,omitempty"`
}

func TestUnmarshalJSONErrors(t *testing.T) {
	const ok = `"id": 1, "name": "n", "address": {"city": "c"}`
	tests := []struct{ in, want string }{
		{`{` + ok + `}`, ""},
		{`{` + ok + `, "extra": [1, {"x": null}], "tags": null, "score": 3}`, ""},
		{`{"id": "7", "name": "n", "address": {"city": "c"}}`, `/id: want integer, got string`},
		{`{"id": 1.5, "name": "n", "address": {"city": "c"}}`, `/id: want integer, got number 1.5`},
		{`{` + ok + `, "small": 300}`, `/small: want integer from -128 to 127, got number 300`},
		{`{` + ok + `, "tags": ["a", 2]}`, `/tags/1: want string, got integer`},
		{`{` + ok + `, "orders": [{}, {"total": "9"}]}`, `/orders/1/total: want number, got string`},
		{`{"id": 1, "name": "n", "address": {"zip/code": "z"}}`, `/address: missing required property "city"`},
		{`{"id": 1, "name": "n", "address": {"city": "c", "zip/code": 5}}`, `/address/zip~1code: want string, got integer`},
		{`{"id": 1, "name": "n", "address": null}`, `/address: want object, got null`},
		{`{"id": 1, "name": "n"}`, `missing required property "address"`},
		{`{` + ok + `, "meta": {"a": true, "b": "yes"}}`, `/meta/b: want boolean, got string`},
		{`[1, 2]`, `want object, got array`},
		{`{"id": 1,`, `malformed JSON at byte`},
		{`{"ID": "x", "name": "n", "address": {"city": "c"}}`, `/ID: want integer, got string`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var u testUser
			err := UnmarshalJSON([]byte(tt.in), &u)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var je *JSONValueError
			if !errors.As(err, &je) {
				t.Fatalf("err = %v (%T), want a *JSONValueError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "plain") || strings.Contains(err.Error(), "testUser") {
				t.Errorf("err = %q names Go types", err)
			}
		})
	}
}

// FuzzUnmarshalJSON: never panics, and fails exactly when json.Unmarshal
// fails, always with a *JSONValueError that names no Go type.
func FuzzUnmarshalJSON(f *testing.F) {
	f.Add([]byte(`{"id": 1, "name": "n", "address": {"city": "c"}, "orders": [{"total": 1}]}`))
	f.Add([]byte(`{"id": "1", "address": {"zip/code": 1}, "small": 1e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b testUser
		want := json.Unmarshal(data, &a)
		err := UnmarshalJSON(data, &b)
		if (want == nil) != (err == nil) {
			t.Fatalf("json.Unmarshal: %v; UnmarshalJSON: %v", want, err)
		}
		var je *JSONValueError
		if err != nil && !errors.As(err, &je) {
			t.Fatalf("err %T", err)
		}
		if err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "plain")) {
			t.Fatalf("err %q names Go types", err)
		}
	})
}
