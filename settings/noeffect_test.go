package settings

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestNoEffectFromOptionMaps: every option the option maps mark as
// without effect draws a warning naming it in NoEffect, and Summarize
// names them all on one line, keeping the other warnings apart. The test
// reads the maps, so it follows them when an option gains an effect.
func TestNoEffectFromOptionMaps(t *testing.T) {
	pick := func(common, own map[string]string) (map[string]any, []string) {
		opts := map[string]any{"bootstrap_servers": "b:9092"}
		var names []string
		for _, m := range []map[string]string{common, own} {
			for name, why := range m {
				if why == "" || strings.HasPrefix(why, "ignored: ") {
					continue
				}
				if _, dup := opts[name]; !dup {
					names = append(names, name)
				}
				opts[name] = sampleValue(name)
			}
		}
		return opts, names
	}
	common := map[string]string{}
	for k, o := range commonOptions {
		common[k] = o.ignored
	}
	cons, prod := map[string]string{}, map[string]string{}
	for k, o := range consumerOptions {
		cons[k] = o.ignored
	}
	for k, o := range producerOptions {
		prod[k] = o.ignored
	}
	inOpts, inNames := pick(common, cons)
	inOpts["group_id"] = "g"
	outOpts, outNames := pick(common, prod)
	doc := map[string]any{
		"inbound_client_settings": map[string]any{"name": "kafka_consumer", "config": map[string]any{
			"topics": []string{"in"}, "enable_listener": true, "client_config": inOpts}},
		"outbound_client_settings": map[string]any{"name": "kafka_producer", "config": map[string]any{
			"topic": "out", "client_config": outOpts}},
		"processing": map[string]any{"dead_letter_topic": "dlq"}, // ignored, but not "no effect"
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	s, diags := Parse("s.json", data, nil)
	if s == nil {
		t.Fatalf("invalid:\n%s", formatAll(diags))
	}
	want := map[string]bool{"enable_listener": true}
	for _, n := range append(inNames, outNames...) {
		want[n] = true
	}
	got := map[string]bool{}
	others := 0
	for _, d := range diags {
		switch {
		case d.NoEffect != "":
			got[d.NoEffect] = true
			if !strings.HasPrefix(d.Message, d.NoEffect+" has no effect: ") {
				t.Errorf("%s: message %q does not say why", d.Pointer, d.Message)
			}
		default:
			others++
		}
	}
	if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(want)) {
		t.Errorf("options without effect:\n got %v\nwant %v", sortedKeys(got), sortedKeys(want))
	}
	sum := Summarize(diags)
	if len(sum) != others+1 {
		t.Fatalf("Summarize: %d diagnostics, want %d:\n%s", len(sum), others+1, formatAll(sum))
	}
	var line string
	for _, d := range sum {
		if strings.Contains(d.Message, "have no effect here") {
			line = d.Message
		}
	}
	prefix := fmt.Sprintf("%d options have no effect here: ", len(want))
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "; `kgen vet --verbose` explains each") {
		t.Fatalf("grouped line %q", line)
	}
	listed := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, prefix), "; `kgen vet --verbose` explains each"), ", ")
	sort.Strings(listed)
	if fmt.Sprint(listed) != fmt.Sprint(sortedKeys(want)) {
		t.Errorf("grouped line lists %v, want %v", listed, sortedKeys(want))
	}
}

// sampleValue is a schema-valid value for a kafka-python option that has
// no effect.
func sampleValue(name string) any {
	switch {
	case strings.HasSuffix(name, "_ms"), strings.HasSuffix(name, "_bytes"), strings.HasSuffix(name, "_size"),
		strings.HasSuffix(name, "_samples"), strings.HasSuffix(name, "_memory"), strings.HasSuffix(name, "_connection"),
		strings.HasSuffix(name, "_records"):
		return 1000
	case name == "check_crcs", name == "exclude_internal_topics", name == "legacy_iterator":
		return true
	case name == "api_version":
		return "2.0.0"
	case name == "metric_reporters", name == "bootstrap_topics_filter":
		return []any{}
	}
	return "x"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSummarize(t *testing.T) {
	w := func(ptr, noEffect string) Diagnostic {
		return Diagnostic{Severity: Warning, File: "f", Pointer: ptr, Message: ptr, NoEffect: noEffect}
	}
	one := []Diagnostic{w("/a", ""), w("/b", "b")}
	if got := Summarize(one); len(got) != 2 || got[1].NoEffect != "b" {
		t.Errorf("a single option without effect is kept as it is: %v", got)
	}
	got := Summarize([]Diagnostic{w("/a", ""), w("/x/b", "b"), w("/c", ""), w("/y/b", "b"), w("/d", "d")})
	if len(got) != 3 || got[0].Pointer != "/a" || got[2].Pointer != "/c" ||
		got[1].Message != "2 options have no effect here: b, d; `kgen vet --verbose` explains each" || got[1].File != "f" {
		t.Errorf("Summarize = %+v", got)
	}
}

// TestBootstrapServersDefault: a Kafka client without bootstrap_servers
// connects to localhost:9092, and a warning naming the client says so.
func TestBootstrapServersDefault(t *testing.T) {
	tests := []struct {
		name, in, out string
		want          []string
	}{
		{"both set", `{"bootstrap_servers": "b:1", "group_id": "g"}`, `{"bootstrap_servers": "b:1"}`, nil},
		{"inbound missing", `{"group_id": "g"}`, `{"bootstrap_servers": "b:1"}`,
			[]string{`/inbound_client_settings/config/client_config: bootstrap_servers is not set: inbound client "inbound" connects to localhost:9092`}},
		{"outbound missing", `{"bootstrap_servers": "b:1", "group_id": "g"}`, `{"acks": 1}`,
			[]string{`/outbound_client_settings/config/client_config: bootstrap_servers is not set: outbound client "outbound" connects to localhost:9092`}},
		{"no client_config", `{"bootstrap_servers": "b:1", "group_id": "g"}`, ``,
			[]string{`/outbound_client_settings/config: bootstrap_servers is not set: outbound client "outbound" connects to localhost:9092`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := `{"topic": "o"}`
			if tt.out != "" {
				out = `{"topic": "o", "client_config": ` + tt.out + `}`
			}
			data := `{"inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["i"], "client_config": ` + tt.in + `}},
"outbound_client_settings": {"name": "kafka_producer", "config": ` + out + `}}`
			s, diags := Parse("s.json", []byte(data), nil)
			if s == nil {
				t.Fatalf("invalid:\n%s", formatAll(diags))
			}
			var got []string
			for _, d := range diags {
				if strings.Contains(d.Message, "bootstrap_servers") {
					got = append(got, d.Pointer+": "+d.Message)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("got %q, want %q", got[i], tt.want[i])
				}
			}
			for _, b := range [][]string{kafkaIn(s.Runtime.Inbound[0]).Brokers, kafkaOut(s.Runtime.Outbound[0]).Brokers} {
				if len(b) != 1 {
					t.Errorf("brokers %v", b)
				}
			}
		})
	}
}
