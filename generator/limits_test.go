package generator

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/settings"
)

func props(n int, prefix string) string {
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

// TestGeneratedSizeBounded renders the largest payload schemas the settings
// limits admit (deepest nesting with the longest names, the most
// properties, the deepest arrays) and bounds what comes out: generated code
// grows with the schema, never with the square of its depth.
func TestGeneratedSizeBounded(t *testing.T) {
	key := strings.Repeat("k", settings.MaxNameBytes)
	deep := `{"type":"string"}`
	for range 29 {
		deep = `{"type":"object","properties":{"` + key + `":` + deep + `}}`
	}
	arr := `{"type":"string"}`
	for range 60 {
		arr = `{"type":"array","items":` + arr + `}`
	}
	for name, sch := range map[string]string{
		"deep_wide": deep,
		"arr":       arr,
		"two":       `{"type":"object","properties":{"a":` + props(995, "p") + `,"b":` + props(995, "q") + `}}`,
	} {
		data := []byte(`{"inbound_client_settings": {"name": "file_reader", "config": {"file": "-"}}, "outbound_client_settings": {"name": "stdout"}, "payload": {"inbound": {"type": "json", "schema": ` + sch + `}}}`)
		s, d := settings.Parse("s.json", data, GenerationEnv)
		if s == nil {
			t.Fatalf("%s: %v", name, d)
		}
		fs, err := Render(s, data, Options{Module: "example.com/x", Version: "dev", SourceDir: "/x"})
		if err != nil {
			t.Fatal(err)
		}
		if n, limit := len(fs["kgen/payload_gen.go"].Data), 16*len(data)+64<<10; n > limit {
			t.Errorf("%s: payload_gen.go is %d bytes for %d bytes of settings; want at most %d", name, n, len(data), limit)
		}
	}
}
