package settings

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/schema"
)

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "alpha", "B_2": "two", "EMPTY": ""}[k]
		return v, ok
	}
	tests := []struct {
		in, want, err string
		refs          int
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha", refs: 1},
		{in: "x-${A}-${B_2}-y", want: "x-alpha-two-y", refs: 2},
		{in: "${EMPTY}", want: "", refs: 1},
		{in: "$${A}", want: "${A}"},
		{in: "cost $5 {}", want: "cost $5 {}"},
		{in: "$$${A}", want: "$${A}"},
		{in: "${MISSING}", err: "environment variable MISSING is not set"},
		{in: "${M1}${M2}", err: "environment variables M1, M2 are not set"},
		{in: "${A", err: "unterminated"},
		{in: "${1A}", err: "invalid environment variable name"},
		{in: "${}", err: "invalid environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, refs, _, err := expand(tt.in, env, false)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || refs != tt.refs {
				t.Fatalf("got %q, %d, %v; want %q, %d", got, refs, err, tt.want, tt.refs)
			}
		})
	}
}

// TestInterpolationPlaces checks that names and payload schemas are not
// expanded, and that a secret from the environment draws no warning.
func TestInterpolationPlaces(t *testing.T) {
	data := []byte(`{
  "inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["${TOPIC}"],
    "client_config": {"bootstrap_servers": "b:9092", "group_id": "g", "security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN",
      "sasl_plain_username": "u", "sasl_plain_password": "${PASS}"}}},
  "outbound_client_settings": {"name": "stdout"},
  "payload": {"inbound": {"type": "json", "schema": {"description": "${NOT_EXPANDED}"}}}
}`)
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"TOPIC": "t1", "PASS": "pw"}[k]
		return v, ok
	}
	s, diags := Parse("x.json", data, env)
	if s == nil || len(diags) > 0 {
		t.Fatalf("diags:\n%s", formatAll(diags))
	}
	k := kafkaIn(s.Runtime.Inbound[0])
	if k.Topics[0] != "t1" || k.Security.Password != "pw" {
		t.Errorf("topics %v password %q", k.Topics, k.Security.Password)
	}
	if !strings.Contains(string(s.InPayload.Schema), "${NOT_EXPANDED}") {
		t.Errorf("payload schema expanded: %s", s.InPayload.Schema)
	}
}

// TestSeedConversion pins the runtime.Config made from the seed's sample.
func TestSeedConversion(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "seed_kafka.good.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, diags := Parse("seed", data, nil)
	if s == nil {
		t.Fatalf("diags:\n%s", formatAll(diags))
	}
	want := runtime.Config{
		Workers: 3,
		Inbound: []runtime.InboundConfig{{
			ID: "inbound", Name: runtime.KafkaConsumer, MaxRetries: 3,
			Config: &runtime.KafkaConsumerConfig{
				Brokers: []string{"localhost:9092"}, GroupID: "ARTICLE_cosnumer_group", Topics: []string{"ARTICLE"},
				AutoOffsetReset: "earliest", SessionTimeout: 27 * time.Second, HeartbeatInterval: 9 * time.Second,
				RebalanceTimeout: 30 * time.Second, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond,
				CommitInterval: 5 * time.Second, PollTimeout: 10 * time.Second, CloseTimeout: 5 * time.Second,
				IsolationLevel: "read_uncommitted", Balancers: []string{"range", "roundrobin"},
				Security: runtime.Security{Protocol: "PLAINTEXT"},
			},
		}},
		Outbound: []runtime.OutboundConfig{{
			ID: "outbound", Name: runtime.KafkaProducer,
			Config: &runtime.KafkaProducerConfig{
				Brokers: []string{"localhost:9092"}, Topic: "ARTICLE", Acks: 1, MaxAttempts: 2, BatchBytes: 16384, MaxRequestSize: 1048576, MaxInFlight: 5,
				Linger: 5 * time.Millisecond, Compression: "none", RequestTimeout: 30 * time.Second,
				AckTimeout: 5 * time.Second, CloseTimeout: 5 * time.Second, Partitioner: "murmur2",
				Security: runtime.Security{Protocol: "PLAINTEXT"},
			},
		}},
		Failure: runtime.FailurePolicy{OnFailure: runtime.Stop},
	}
	if !reflect.DeepEqual(s.Runtime, want) {
		g, _ := json.MarshalIndent(s.Runtime, "", " ")
		t.Errorf("got %s", g)
	}
	if s.Version != 1 || s.InPayload.Kind != Bytes || s.OutPayload.Kind != Bytes || s.LogLevel != "info" || s.LogFormat != "text" {
		t.Errorf("settings %+v", s)
	}

	data, _ = os.ReadFile(filepath.Join(fixtures, "seed_file.good.json"))
	s, _ = Parse("seed_file", data, nil)
	// What the settings say (mode "ab"); the client's defaults add the
	// rest when Run applies them.
	wantFile := filewriter.Config{Path: "/home/pavan/file_writer{}.log", Append: true, Binary: true}
	if s == nil || *fileOut(s.Runtime.Outbound[0]) != wantFile {
		t.Errorf("file writer %+v", fileOut(s.Runtime.Outbound[0]))
	} else if eff := filewriter.Client.Defaults(fileOut(s.Runtime.Outbound[0])).(*filewriter.Config); eff.Framing != "lines" || eff.Encoding != "" {
		t.Errorf("file writer with defaults %+v, want framing lines and no encoding", eff)
	}
}

// TestOptionTables keeps kafkapython.go and the schema in step.
func TestOptionTables(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	for def, names := range map[string][]string{
		"kafka_consumer_client_config": consumerOptionNames(),
		"kafka_producer_client_config": producerOptionNames(),
	} {
		var inSchema []string
		for k := range doc.Defs[def].Properties {
			inSchema = append(inSchema, k)
		}
		sort.Strings(inSchema)
		if !slices.Equal(inSchema, names) {
			t.Errorf("%s: schema has %v\ntable has %v", def, inSchema, names)
		}
	}
	for name, o := range consumerOptions {
		if (o.ignored == "") == (o.apply == nil) {
			t.Errorf("consumer option %s: exactly one of ignored and apply must be set", name)
		}
	}
	for name, o := range producerOptions {
		if (o.ignored == "") == (o.apply == nil) {
			t.Errorf("producer option %s: exactly one of ignored and apply must be set", name)
		}
	}
	for name, o := range commonOptions {
		if (o.ignored == "") == (o.apply == nil) {
			t.Errorf("option %s: exactly one of ignored and apply must be set", name)
		}
	}
}

func TestShapeDiff(t *testing.T) {
	parse := func(t *testing.T, s string) *Settings {
		t.Helper()
		st, diags := Parse("x.json", []byte(s), nil)
		if st == nil {
			t.Fatalf("diags:\n%s", formatAll(diags))
		}
		return st
	}
	base := `{"inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["a"], "client_config": {"group_id": "g"}}},
		"outbound_client_settings": {"name": "kafka_producer", "config": {"topic": "b"}}}`
	tests := []struct {
		name, other, want string
	}{
		{"values only", `{"num_of_workers": 9, "inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["x", "y"], "client_config": {"group_id": "h", "bootstrap_servers": "k:1"}}},
			"outbound_client_settings": {"name": "kafka_producer", "config": {"topic": "z", "close_timeout": 3}}}`, ""},
		{"outbound client changed", `{"inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["a"], "client_config": {"group_id": "g"}}},
			"outbound_client_settings": {"name": "file_writer", "config": {"file": "/tmp/x"}}}`, "/outbound/0/name"},
		{"client added", `{"inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["a"], "client_config": {"group_id": "g"}}},
			"outbound_clients": [{"id": "outbound", "name": "kafka_producer", "config": {"topic": "b"}}, {"id": "log", "name": "stdout"}]}`, "/outbound/1"},
		{"payload type", base[:len(base)-1] + `, "payload": {"inbound": {"type": "string"}}}`, "/payload/inbound/type"},
		{"payload schema", base[:len(base)-1] + `, "payload": {"outbound": {"type": "json", "schema": {"type": "object"}}}}`, "/payload/outbound/type"},
		{"failure policy", base[:len(base)-1] + `, "processing": {"on_failure": "skip"}}`, "/on_failure"},
	}
	a := Shape(parse(t, base))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Shape(parse(t, tt.other))
			if got := ShapeDiff(a, b); got != tt.want {
				t.Errorf("ShapeDiff = %q, want %q\na: %s\nb: %s", got, tt.want, a, b)
			}
		})
	}
	t.Run("schema hash", func(t *testing.T) {
		p := func(schema string) string {
			return Shape(parse(t, base[:len(base)-1]+`, "payload": {"outbound": {"type": "json", "schema": `+schema+`}}}`))
		}
		x, y := p(`{"type": "object"}`), p(`{"type":"object"}`)
		if d := ShapeDiff(x, y); d != "" {
			t.Errorf("whitespace changed the shape at %s", d)
		}
		if d := ShapeDiff(x, p(`{"type": "array"}`)); d != "/payload/outbound/schema" {
			t.Errorf("ShapeDiff = %q", d)
		}
	})
	if got := ShapeDiff("{", a); got != "/" {
		t.Errorf("invalid shape: %q", got)
	}
	if Shape(nil) != "" {
		t.Error("Shape(nil) not empty")
	}
}

func TestMigrate(t *testing.T) {
	for _, name := range []string{"seed_kafka.good.json", "seed_file.good.json"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			out, changed, err := Migrate(data)
			if err != nil || !changed {
				t.Fatalf("changed %v, err %v", changed, err)
			}
			// One line inserted, before the first member and indented as
			// it; every other byte kept.
			want := strings.Replace(string(data), "    \"num_of_workers\"", "    \"settings_version\": 1,\n    \"num_of_workers\"", 1)
			if string(out) != want {
				t.Errorf("migrated text is not the file with one line inserted:\n%s", out)
			}
			before, _ := Parse("before", data, nil)
			after, diags := Parse("after", out, nil)
			if after == nil {
				t.Fatalf("migrated settings invalid:\n%s", formatAll(diags))
			}
			if !reflect.DeepEqual(before.Runtime, after.Runtime) || Shape(before) != Shape(after) {
				t.Error("migration changed the meaning")
			}
			again, changed, err := Migrate(out)
			if err != nil || changed || string(again) != string(out) {
				t.Errorf("second migration: changed %v, err %v", changed, err)
			}
		})
	}
	tests := []struct{ name, in, want, err string }{
		{"after $schema", `{"$schema":"s.json","num_of_workers":1,"x":"<&>"}`,
			`{"$schema":"s.json","settings_version": 1, "num_of_workers":1,"x":"<&>"}`, ""},
		{"after $schema, lines", "{\n  \"$schema\": \"s.json\",\n  \"a\": 1\n}\n",
			"{\n  \"$schema\": \"s.json\",\n  \"settings_version\": 1,\n  \"a\": 1\n}\n", ""},
		{"$schema alone", "{\n\t\"$schema\": \"s.json\"\n}", "{\n\t\"$schema\": \"s.json\",\n\t\"settings_version\": 1\n}", ""},
		{"$schema alone, one line", `{ "$schema" : "s.json" }`, `{ "$schema" : "s.json", "settings_version": 1 }`, ""},
		{"tabs and blank lines kept", "{\n\n\t\"a\":1,\n\n\t\"b\": {\"c\": 2}\n}", "{\n\n\t\"settings_version\": 1,\n\t\"a\":1,\n\n\t\"b\": {\"c\": 2}\n}", ""},
		{"CRLF", "{\r\n  \"a\": 1\r\n}\r\n", "{\r\n  \"settings_version\": 1,\r\n  \"a\": 1\r\n}\r\n", ""},
		{"empty object", `{}`, `{"settings_version": 1}`, ""},
		{"numbers kept", `{"a": 1.50, "b": [], "c": {}}`, `{"settings_version": 1, "a": 1.50, "b": [], "c": {}}`, ""},
		{"escaped key", `{"\u0061": 1}`, `{"settings_version": 1, "\u0061": 1}`, ""},
		{"unknown version", `{"settings_version": 7}`, "", "settings_version 7 is unknown"},
		{"array", `[]`, "", "not a JSON object"},
		{"malformed", `{"a":`, "", "migrate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := Migrate([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(out) != tt.want {
				t.Errorf("got %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Severity: Error, File: "s.json", Line: 3, Col: 7, Pointer: "/a", Message: "m"}, "s.json:3:7: error: /a: m"},
		{Diagnostic{Severity: Warning, File: "s.json", Message: "m"}, "s.json: warning: m"},
		{Diagnostic{Severity: Error, Line: 2, Col: 1, Message: "m"}, "2:1: error: m"},
		{Diagnostic{Message: "m"}, "error: m"},
	}
	for _, tt := range tests {
		if got := Format(tt.d); got != tt.want {
			t.Errorf("Format = %q, want %q", got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	s, diags := Load(filepath.Join(t.TempDir(), "missing.json"))
	if s != nil || len(diags) != 1 || !strings.Contains(Format(diags[0]), "missing.json: error: reading settings: no such file") {
		t.Errorf("got %v", diags)
	}
	s, diags = Load(filepath.Join(fixtures, "seed_kafka.good.json"))
	if s == nil {
		t.Errorf("seed: %v", diags)
	}
}

func TestLocator(t *testing.T) {
	data := []byte("{\n\t\"a\": [1, {\"b~/c\": true}],\n  \"d\":\"e\" }")
	l := newLocator(data)
	tests := []struct {
		ptr       string
		key       bool
		line, col int
	}{
		{"", false, 1, 1},
		{"/a", false, 2, 7},
		{"/a", true, 2, 2},
		{"/a/1/b~0~1c", false, 2, 20},
		{"/a/1/b~0~1c", true, 2, 12},
		{"/d", false, 3, 7},
		{"/d/missing", false, 3, 7},
	}
	for _, tt := range tests {
		line, col := l.position(tt.ptr, tt.key)
		if line != tt.line || col != tt.col {
			t.Errorf("%s key=%v: %d:%d, want %d:%d", tt.ptr, tt.key, line, col, tt.line, tt.col)
		}
	}
}

func TestBOM(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join(fixtures, "workers_zero.bad.json"))
	_, diags := Parse("bom.json", append([]byte("\xef\xbb\xbf"), data...), nil)
	if len(diags) == 0 || diags[0].Line != 2 {
		t.Errorf("got %v", diags)
	}
}
