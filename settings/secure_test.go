package settings

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// TestSecretsRedacted: a secret written inline never appears in a
// diagnostic, whatever is wrong with it.
func TestSecretsRedacted(t *testing.T) {
	pw := "/inbound_clients/0/config/client_config/sasl_plain_password"
	for name, v := range map[string]any{
		"unterminated": "Hunter2${oops",
		"bad name":     "Hunter2${Hunter-2}",
		"not a string": 424242,
		"env unset":    "Hunter2${KGEN_TEST_UNSET_VAR}",
	} {
		t.Run(name, func(t *testing.T) {
			data := withMember(t, pw, v)
			_, diags := Parse("s.json", data, nil)
			if len(diags) == 0 {
				t.Fatal("no diagnostic")
			}
			for _, d := range diags {
				if strings.Contains(d.Message, "Hunter") || strings.Contains(d.Message, "424242") {
					t.Errorf("secret in %q", Format(d))
				}
			}
		})
	}
	// A secret that some other message quotes is scrubbed too.
	scrub := secretScrubber(map[string]any{"ssl_password": "Hunter2-and-a-very-long-secret-text-that-gets-shortened"}, interpolation{})
	for _, msg := range []string{`got "Hunter2-and-a-very-long-secret-text-that-gets-shortened"`, "x " + configjson.QuoteShort("Hunter2-and-a-very-long-secret-text-that-gets-shortened")} {
		if got := scrub(msg); strings.Contains(got, "Hunter2") {
			t.Errorf("scrub(%q) = %q", msg, got)
		}
	}
}

// TestTransportWarnings: what kgen vet says about transport security.
func TestTransportWarnings(t *testing.T) {
	cc := "/inbound_clients/0/config/client_config"
	tests := []struct {
		name string
		opts map[string]any
		ptr  string
		want string
	}{
		{"hostname check off", map[string]any{"security_protocol": "SSL", "ssl_check_hostname": false}, cc + "/ssl_check_hostname", "chain is still verified"},
		{"plain in clear", map[string]any{"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_plain_username": "u", "sasl_plain_password": "${P}"}, cc + "/security_protocol", "password in clear text"},
		{"scram in clear", map[string]any{"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "u", "sasl_plain_password": "${P}"}, cc + "/security_protocol", "travel in clear text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := map[string]any{"group_id": "g"}
			for k, v := range tt.opts {
				opts[k] = v
			}
			s, diags := Parse("s.json", withMember(t, cc, opts), deferEnv)
			if s == nil || !hasWarning(diags, tt.ptr, tt.want) {
				t.Errorf("want a warning at %s with %q: %v", tt.ptr, tt.want, diags)
			}
		})
	}
	for _, opts := range []map[string]any{
		{"group_id": "g", "security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_plain_username": "u", "sasl_plain_password": "${P}"},
		{"group_id": "g", "security_protocol": "SSL"},
	} {
		if _, diags := Parse("s.json", withMember(t, cc, opts), deferEnv); hasWarning(diags, cc+"/security_protocol", "clear") || hasWarning(diags, cc+"/ssl_check_hostname", "") {
			t.Errorf("%v: unexpected warning: %v", opts, diags)
		}
	}
	for addr, warn := range map[string]bool{":9100": true, "0.0.0.0:9100": true, "[::]:9100": true, "127.0.0.1:9100": false, "[::1]:9100": false, "metrics.internal:9100": false} {
		_, diags := Parse("s.json", withMember(t, "/metrics", map[string]any{"address": addr}), nil)
		if got := hasWarning(diags, "/metrics/address", "every network interface"); got != warn {
			t.Errorf("metrics address %s: warning %v, want %v (%v)", addr, got, warn, diags)
		}
	}
}

func hasWarning(diags []Diagnostic, ptr, msg string) bool {
	for _, d := range diags {
		if d.Pointer == ptr && d.Severity == Warning && strings.Contains(d.Message, msg) {
			return true
		}
	}
	return false
}

// TestSharedFiles: two clients, or a client and the settings, sharing a
// file are refused.
func TestSharedFiles(t *testing.T) {
	dir := t.TempDir()
	sfile := filepath.Join(dir, "settings.json")
	out := filepath.Join(dir, "out.log")
	writer := func(id, path string) map[string]any {
		return map[string]any{"id": id, "name": "file_writer", "config": map[string]any{"file": path}}
	}
	reader := func(id, path string) map[string]any {
		return map[string]any{"id": id, "name": "file_reader", "config": map[string]any{"file": path}}
	}
	tests := []struct {
		name    string
		in, out []any
		workers int
		ptr     string // "" when accepted
	}{
		{"two writers", []any{reader("r", "-")}, []any{writer("a", out), writer("b", out)}, 1, "/outbound_clients/1/config/file"},
		{"same file spelled twice", []any{reader("r", "-")}, []any{writer("a", out), writer("b", filepath.Join(dir, ".", "x", "..", "out.log"))}, 1, "/outbound_clients/1/config/file"},
		{"per-worker file", []any{reader("r", "-")}, []any{writer("a", filepath.Join(dir, "out{}.log")), writer("b", filepath.Join(dir, "out3.log"))}, 4, "/outbound_clients/1/config/file"},
		{"per-worker file, fewer workers", []any{reader("r", "-")}, []any{writer("a", filepath.Join(dir, "out{}.log")), writer("b", filepath.Join(dir, "out3.log"))}, 3, ""},
		{"writer and reader", []any{reader("r", out)}, []any{writer("a", out)}, 1, "/outbound_clients/0/config/file"},
		{"writer and settings", []any{reader("r", "-")}, []any{writer("a", sfile)}, 1, "/outbound_clients/0/config/file"},
		{"two readers", []any{reader("r", out), reader("s", out)}, []any{writer("a", filepath.Join(dir, "other.log"))}, 1, ""},
		{"reader of the settings", []any{reader("r", sfile)}, []any{writer("a", out)}, 1, ""},
		{"deferred path", []any{reader("r", "-")}, []any{writer("a", out), writer("b", "${OUT}")}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(mustJSON(t, map[string]any{"num_of_workers": tt.workers, "inbound_clients": tt.in, "outbound_clients": tt.out}))
			if err := os.WriteFile(sfile, data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, diags := Parse(sfile, data, deferEnv)
			if tt.ptr == "" {
				if s == nil {
					t.Fatalf("refused: %v", diags)
				}
				return
			}
			if s != nil || !hasDiag(diags, tt.ptr, "must not share a file") {
				t.Fatalf("want an error at %s: %v", tt.ptr, diags)
			}
		})
	}
}

// TestFileWriterOptions: file_mode and follow_symlinks reach the runtime.
func TestFileWriterOptions(t *testing.T) {
	cfg := "/outbound_clients/1/config"
	s, diags := Parse("s.json", withMember(t, cfg, map[string]any{"file": "/tmp/x.log", "file_mode": "0640", "follow_symlinks": true}), nil)
	if s == nil {
		t.Fatal(diags)
	}
	if f := fileOut(s.Runtime.Outbound[1]); f.FileMode != 0o640 || !f.FollowSymlinks {
		t.Errorf("FileMode %o, FollowSymlinks %v", f.FileMode, f.FollowSymlinks)
	}
	if s, _ := Parse("s.json", withMember(t, cfg+"/file_mode", "0999"), nil); s != nil {
		t.Error("file_mode 0999 accepted")
	}
	if _, diags := Parse("s.json", withMember(t, cfg+"/file_mode", "666"), nil); !hasWarning(diags, cfg+"/file_mode", "every user") {
		t.Errorf("file_mode 666: no warning: %v", diags)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStartCheck: what a processor checks at start leaves out payload
// schemas and inline secrets, keeps references, and is empty without them.
func TestStartCheck(t *testing.T) {
	pw := "/inbound_clients/0/config/client_config/sasl_plain_password"
	data := withMember(t, pw, "Hunter2")
	if got, err := StartCheck(data); err != nil || got != "" {
		t.Errorf("no reference: %q, %v; want \"\"", got, err)
	}
	data = withMember(t, "/inbound_clients/0/config/topics/0", "${TOPIC}")
	var doc map[string]any
	_ = json.Unmarshal(data, &doc)
	doc["payload"] = map[string]any{"inbound": map[string]any{"type": "json", "schema": map[string]any{"description": "x"}}}
	cc := doc["inbound_clients"].([]any)[0].(map[string]any)["config"].(map[string]any)["client_config"].(map[string]any)
	cc["ssl_password"] = "Hunter2"
	cc["sasl_plain_password"] = "${PW}"
	data = []byte(mustJSON(t, doc))
	got, err := StartCheck(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Hunter2", `"schema"`} {
		if strings.Contains(got, bad) {
			t.Errorf("StartCheck holds %s: %s", bad, got)
		}
	}
	for _, want := range []string{"${TOPIC}", "${PW}", inlineSecretPlaceholder} {
		if !strings.Contains(got, want) {
			t.Errorf("StartCheck lacks %s: %s", want, got)
		}
	}
	if s, diags := Parse("c", []byte(got), deferEnv); s == nil {
		t.Errorf("the copy does not parse: %v", diags)
	}
	if ptrs := InlineSecrets(data); len(ptrs) != 1 || ptrs[0] != "/inbound_clients/0/config/client_config/ssl_password" {
		t.Errorf("InlineSecrets = %v", ptrs)
	}
}
