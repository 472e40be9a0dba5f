package settings

import (
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
)

// minimal is valid settings with a JSON payload whose schema is schema.
func minimal(schema string) string {
	return `{"inbound_client_settings": {"name": "file_reader", "config": {"file": "-"}},
 "outbound_client_settings": {"name": "stdout"},
 "payload": {"inbound": {"type": "json", "schema": ` + schema + `}}}`
}

func properties(n int, prefix string) string {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + prefix + strconv.Itoa(i) + `":{"type":"string"}`)
	}
	b.WriteString(`}}`)
	return b.String()
}

// deepSchema nests objects depth levels deep, each with a long key.
func deepSchema(depth, keyLen int) string {
	key := strings.Repeat("k", keyLen)
	s := `{"type":"string"}`
	for range depth {
		s = `{"type":"object","properties":{"` + key + `":` + s + `}}`
	}
	return s
}

// hostileFiles are settings crafted to exhaust memory or time, each with
// the message it must be refused with.
func hostileFiles() []struct{ name, data, want string } {
	return []struct{ name, data, want string }{
		{"deep arrays 200 KB", `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, "nested deeper than 64 levels"},
		{"deep objects", strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000), "nested deeper than 64 levels"},
		{"deep unterminated", strings.Repeat("[", 300000), "nested deeper than 64 levels"},
		{"30k properties", minimal(properties(30000, "p")), "more than 1000 members in one object"},
		{"spread properties", minimal(`{"type":"object","properties":{` + func() string {
			var parts []string
			for i := range 10 {
				parts = append(parts, `"o`+strconv.Itoa(i)+`":`+properties(900, "p"))
			}
			return strings.Join(parts, ",")
		}() + `}}`), "the payload schema has more than 4000 values"},
		{"deep schema long keys", minimal(deepSchema(40, 250)), "nested deeper than 64 levels"},
		{"long name", minimal(`{"type":"object","properties":{"` + strings.Repeat("n", 300) + `":{}}}`), "member name of 300 bytes"},
		{"too large", `{"a":"` + strings.Repeat("x", MaxFileBytes) + `"}`, "larger than 1048576 bytes"},
		{"many values", `{"a":[` + strings.Repeat("1,", MaxValues) + `1]}`, "more than 20000 values"},
	}
}

// TestLimits: every hostile file is refused with its message, at a place,
// and costs a bounded number of allocated bytes (a pass over its tokens,
// not the quadratic locator, decoding or schema compilation behind it).
// Time is measured by BenchmarkHostileSettings, not asserted here.
func TestLimits(t *testing.T) {
	for _, tt := range hostileFiles() {
		t.Run(tt.name, func(t *testing.T) {
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			s, diags := Parse("s.json", []byte(tt.data), nil)
			goruntime.ReadMemStats(&after)
			if s != nil || len(diags) != 1 || !strings.Contains(diags[0].Message, tt.want) {
				t.Fatalf("diagnostics %v, want one error with %q", diags, tt.want)
			}
			if tt.name != "too large" && diags[0].Line == 0 {
				t.Errorf("no line in %v", diags[0])
			}
			// The token pass allocates each token once: a few times the
			// file's size, never gigabytes.
			if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(tt.data)+16<<20); alloc > limit {
				t.Errorf("allocated %d bytes for a %d-byte file; want at most %d", alloc, len(tt.data), limit)
			}
		})
	}
}

// TestLimitsAdmitRealFiles: at the limits, files still parse.
func TestLimitsAdmitRealFiles(t *testing.T) {
	for name, data := range map[string]string{
		"1000 properties":        minimal(properties(1000, "p")),
		"deep schema":            minimal(deepSchema(25, 200)),
		"name of 256 bytes":      minimal(`{"type":"object","properties":{"` + strings.Repeat("n", 256) + `":{}}}`),
		"spread 1900 properties": minimal(`{"type":"object","properties":{"a":` + properties(950, "p") + `,"b":` + properties(950, "q") + `}}`),
	} {
		t.Run(name, func(t *testing.T) {
			if s, diags := Parse("s.json", []byte(data), nil); s == nil {
				t.Fatalf("refused: %v", diags)
			}
		})
	}
}

func BenchmarkHostileSettings(b *testing.B) {
	for _, tt := range hostileFiles() {
		b.Run(strings.ReplaceAll(tt.name, " ", "_"), func(b *testing.B) {
			data := []byte(tt.data)
			for b.Loop() {
				Parse("s.json", data, nil)
			}
		})
	}
	b.Run("1900_properties_accepted", func(b *testing.B) {
		data := []byte(minimal(`{"type":"object","properties":{"a":` + properties(950, "p") + `,"b":` + properties(950, "q") + `}}`))
		for b.Loop() {
			Parse("s.json", data, nil)
		}
	})
}
