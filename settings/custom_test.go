package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hookSchema is a custom client's JSON Schema, as a user ships it.
const hookSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["url"],
  "properties": {
    "url": {"type": "string", "pattern": "^https?://", "x-expected": "an http:// or https:// URL"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "max_batch": {"type": "integer", "minimum": 1}
  }
}`

// customSettings returns settings with one file_reader inbound and one
// custom outbound client whose entry members are client (a JSON fragment).
func customSettings(client string) string {
	return `{
  "inbound_client_settings": {"name": "file_reader", "config": {"file": "-"}},
  "outbound_clients": [{"id": "hook", ` + client + `}],
  "processing": {"on_failure": "skip"}
}`
}

// A custom inbound client under on_failure "dead_letter": kgen cannot see
// whether it writes dead letters, so it warns instead of refusing (a
// file_reader has no brokers for them: an error).
func TestCustomInboundDeadLetters(t *testing.T) {
	data := `{
  "inbound_clients": [
    {"id": "feed", "name": "poller", "custom": true, "config": {}},
    {"id": "file", "name": "file_reader", "config": {"file": "-"}}
  ],
  "outbound_clients": [{"id": "out", "name": "stdout"}],
  "processing": {"on_failure": "dead_letter", "dead_letter_topic": "dlq"}
}`
	_, diags := Parse("s.json", []byte(data), nil)
	var got []string
	for _, d := range diags {
		d.File, d.Line, d.Col = "", 0, 0
		got = append(got, Format(d))
	}
	want := []string{
		`warning: /processing/on_failure: kgen cannot tell whether custom client /inbound_clients/0 (poller) writes dead letters (runtime.Client.DeadLetters): without that, the first record the policy dead-letters stops the processor`,
		`error: /processing/on_failure: on_failure "dead_letter" writes with the brokers of the record's inbound client, and /inbound_clients/1 (file_reader) has none`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCustomClient(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.schema.json"), []byte(hookSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.schema.json"), []byte(`{"type": 12}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"HOOK_URL": "https://example.com/x", "BAD_URL": "ftp://x", "TOKEN": "t0ken"}[name]
		return v, ok
	}
	deferEnv := func(name string) (string, bool) { return Deferred(name), true }
	tests := []struct {
		name   string
		client string
		opts   Options
		env    func(string) (string, bool)
		// want are the diagnostics, formatted without file and position;
		// "" none.
		want []string
	}{
		{"valid", `"name": "webhook", "custom": true, "config_schema": "hook.schema.json", "config": {"url": "https://example.com/x", "max_batch": 10}`,
			Options{ClientSchemas: true}, env, nil},
		{"valid from env", `"name": "webhook", "custom": true, "config_schema": "hook.schema.json", "config": {"url": "${HOOK_URL}", "headers": {"Authorization": "Bearer ${TOKEN}"}}`,
			Options{ClientSchemas: true}, env, nil},
		{"deferred skips the pattern", `"name": "webhook", "custom": true, "config_schema": "hook.schema.json", "config": {"url": "${BAD_URL}"}`,
			Options{ClientSchemas: true}, deferEnv, nil},
		{"processor: no schema file read", `"name": "webhook", "custom": true, "config_schema": "missing.json", "config": {"url": "ftp://x"}`,
			Options{}, env, nil},
		{"no config_schema: a warning", `"name": "webhook", "custom": true, "config": {"anything": [1, 2]}`,
			Options{ClientSchemas: true}, env,
			[]string{`warning: /outbound_clients/0/custom: kgen does not check the config of custom client "webhook": it cannot see the client's code; name the client's JSON Schema file in config_schema to check it now (the processor checks it against the registered client's schema when it starts)`}},
		{"no config", `"name": "webhook", "custom": true, "config_schema": "hook.schema.json"`,
			Options{ClientSchemas: true}, env,
			[]string{`error: /outbound_clients/0/config: missing required property "url"`}},
		{"config against the schema", `"name": "webhook", "custom": true, "config_schema": "hook.schema.json", "config": {"url": "ftp://x", "max_bach": 3, "max_batch": 0}`,
			Options{ClientSchemas: true}, env,
			[]string{
				`error: /outbound_clients/0/config/url: got "ftp://x"; expected an http:// or https:// URL`,
				`error: /outbound_clients/0/config/max_bach: unknown property "max_bach" (did you mean "max_batch"?)`,
				`error: /outbound_clients/0/config/max_batch: got 0; expected an integer >= 1`,
			}},
		{"resolved value checked", `"name": "webhook", "custom": true, "config_schema": "hook.schema.json", "config": {"url": "${BAD_URL}"}`,
			Options{ClientSchemas: true}, env,
			[]string{`error: /outbound_clients/0/config/url: got "${BAD_URL}" (= "ftp://x"); expected an http:// or https:// URL`}},
		{"missing schema file", `"name": "webhook", "custom": true, "config_schema": "missing.json", "config": {"url": "https://h"}`,
			Options{ClientSchemas: true}, env,
			[]string{`error: /outbound_clients/0/config_schema: reading the client's schema "` + filepath.Join(dir, "missing.json") + `": no such file or directory`}},
		{"broken schema file", `"name": "webhook", "custom": true, "config_schema": "broken.schema.json", "config": {"url": "https://h"}`,
			Options{ClientSchemas: true}, env,
			[]string{`error: /outbound_clients/0/config_schema: "` + filepath.Join(dir, "broken.schema.json") + `" is not a valid JSON Schema`}},
		{"config_schema without custom", `"name": "stdout", "config_schema": "hook.schema.json"`,
			Options{ClientSchemas: true}, env,
			[]string{`error: /outbound_clients/0/config_schema: config_schema is only for a custom client ("custom": true)`}},
		{"custom with a built-in name", `"name": "stdout", "custom": true, "config": {}`,
			Options{}, env,
			[]string{`error: /outbound_clients/0/name: got "stdout"; expected the name of your own client: lower case letters, digits and _, starting with a letter, at most 64 characters, not a built-in client's name`}},
		{"custom name shape", `"name": "Web-Hook", "custom": true, "config": {}`,
			Options{}, env,
			[]string{`error: /outbound_clients/0/name: got "Web-Hook"; expected the name of your own client: lower case letters, digits and _, starting with a letter, at most 64 characters, not a built-in client's name`}},
		{"custom config not an object", `"name": "webhook", "custom": true, "config": [1]`,
			Options{}, env,
			[]string{`error: /outbound_clients/0/config: got an array; expected an object`}},
		{"inline secret", `"name": "webhook", "custom": true, "config": {"url": "https://h", "headers": {"Authorization": "Bearer abc", "X-Trace": "1"}, "api_key": "${TOKEN}"}`,
			Options{}, env,
			[]string{`warning: /outbound_clients/0/config/headers/Authorization: a secret written inline ends up in the settings file and in every copy of it; write it as "${ENV_VAR}"; a secret written inline is not compiled into the processor either: only --settings FILE supplies it`}},
		{"unknown name without custom", `"name": "webhook", "config": {}`,
			Options{}, env,
			[]string{`error: /outbound_clients/0/name: unknown client name "webhook"; valid names: kafka_producer, file_writer, stdout; a client of your own needs "custom": true`}},
		{"env outside a custom config", `"name": "stdout", "config": {"format": "${TOKEN}"}`,
			Options{}, env,
			[]string{`error: /outbound_clients/0/config/format: "${...}" cannot be used in format`, `error: /outbound_clients/0/config/format: got "${TOKEN}"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "settings.json")
			s, diags := ParseWith(file, []byte(customSettings(tt.client)), tt.env, tt.opts)
			var got []string
			for _, d := range diags {
				d.File, d.Line, d.Col = "", 0, 0
				got = append(got, Format(d))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("diagnostic %d:\n%s\nwant (a prefix):\n%s", i, got[i], tt.want[i])
				}
			}
			hasErr := false
			for _, d := range diags {
				hasErr = hasErr || d.Severity == Error
			}
			if hasErr != (s == nil) {
				t.Errorf("settings %v with errors %v", s != nil, hasErr)
			}
			if s == nil {
				return
			}
			out := s.Runtime.Outbound[0]
			if out.Name != "webhook" || out.ID != "hook" {
				t.Errorf("outbound %q (%s), want hook (webhook)", out.ID, out.Name)
			}
		})
	}
}
