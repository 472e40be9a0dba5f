package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A settings file naming a client of the user's own: validate checks its
// config against the schema file config_schema names (each problem at its
// place), or warns that it cannot without one; init generates the project
// and says that the client must be registered.
func TestCustomClient(t *testing.T) {
	dir := t.TempDir()
	schema := `{"type": "object", "additionalProperties": false, "required": ["url"],
	  "properties": {"url": {"type": "string", "pattern": "^https?://", "x-expected": "an http:// or https:// URL"}}}`
	if err := os.WriteFile(filepath.Join(dir, "hook.schema.json"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, client string) string {
		f := filepath.Join(dir, name)
		data := `{
  "inbound_client_settings": {"name": "file_reader", "config": {"file": "-"}},
  "outbound_clients": [{"id": "hook", "name": "webhook", "custom": true, ` + client + `}]
}`
		if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	good := write("good.json", `"config_schema": "hook.schema.json", "config": {"url": "https://example.com"}`)
	bad := write("bad.json", `"config_schema": "hook.schema.json", "config": {"url": "ftp://example.com"}`)
	unchecked := write("unchecked.json", `"config": {"url": "ftp://example.com"}`)

	code, stdout, stderr := kgenRun(t, ".", "validate", good)
	if code != exitOK || !strings.Contains(stdout, "valid (0 warning(s))") {
		t.Errorf("validate good: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = kgenRun(t, ".", "validate", bad)
	if want := `bad.json:3:129: error: /outbound_clients/0/config/url: got "ftp://example.com"; expected an http:// or https:// URL`; code == exitOK || !strings.Contains(stderr, want) {
		t.Errorf("validate bad: exit %d, want an error %q\n%s", code, want, stderr)
	}
	code, stdout, stderr = kgenRun(t, ".", "validate", unchecked)
	if code != exitOK || !strings.Contains(stderr, `warning: /outbound_clients/0/custom: kgen does not check the config of custom client "webhook"`) {
		t.Errorf("validate unchecked: exit %d, want a warning\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = kgenRun(t, ".", "init", bad, "--out", filepath.Join(t.TempDir(), "p"))
	if code == exitOK || !strings.Contains(stderr, "/outbound_clients/0/config/url") {
		t.Errorf("init bad: exit %d, want the config refused\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "p")
	code, stdout, stderr = kgenRun(t, ".", "init", good, "--out", out)
	if code != exitOK || !strings.Contains(stdout, `Your own clients: webhook (outbound "hook"). Register each before kgen.Main runs`) {
		t.Fatalf("init good: exit %d\n%s%s", code, stdout, stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(out, "kgen", "config_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "Hook json.RawMessage") || !strings.Contains(string(cfg), `"url": "https://example.com",`) {
		t.Errorf("config_gen.go does not carry the client's config as JSON:\n%s", cfg)
	}
}
