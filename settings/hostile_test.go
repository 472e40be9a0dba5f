package settings

import (
	"encoding/json"
	"strings"
	"testing"
)

// withMember returns minimal valid settings (two named clients) with the
// member at the slash path set to v.
func withMember(t *testing.T, path string, v any) []byte {
	t.Helper()
	doc := map[string]any{
		"inbound_clients": []any{map[string]any{"id": "in", "name": "kafka_consumer", "config": map[string]any{
			"topics": []any{"t"}, "client_config": map[string]any{"group_id": "g"}}}},
		"outbound_clients": []any{
			map[string]any{"id": "out", "name": "kafka_producer", "config": map[string]any{"topic": "o"}},
			map[string]any{"id": "file", "name": "file_writer", "config": map[string]any{"file": "/tmp/x.log"}},
			map[string]any{"id": "con", "name": "stdout", "config": map[string]any{}},
		},
	}
	var cur any = doc
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
				break
			}
			if c[p] == nil {
				c[p] = map[string]any{}
			}
			cur = c[p]
		case []any:
			n := 0
			for _, ch := range p {
				n = n*10 + int(ch-'0')
			}
			if last {
				c[n] = v
				break
			}
			cur = c[n]
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deferEnv leaves every variable unresolved, as kgen's generation does.
func deferEnv(name string) (string, bool) { return Deferred(name), true }

// TestEnvWhereItCannotWork: a ${VAR} in a member that shapes the generated
// code (or is converted when it is generated) is refused by name, with or
// without the variable set.
func TestEnvWhereItCannotWork(t *testing.T) {
	refused := []string{
		"/inbound_clients/0/id", "/outbound_clients/0/id",
		"/inbound_clients/0/name",
		"/processing/on_failure", "/logging/level", "/logging/format",
		"/payload/inbound/type", "/payload/outbound/type",
		"/outbound_clients/1/config/mode", "/outbound_clients/1/config/framing", "/outbound_clients/1/config/encoding",
		"/outbound_clients/2/config/format",
		"/inbound_clients/0/config/poll_timeout", "/outbound_clients/0/config/client_config/acks",
		"/inbound_clients/0/config/client_config/partition_assignment_strategy/0",
	}
	envs := map[string]func(string) (string, bool){
		"deferred": deferEnv,
		"set":      func(string) (string, bool) { return "info", true },
	}
	for _, ptr := range refused {
		for name, env := range envs {
			t.Run(name+ptr, func(t *testing.T) {
				s, diags := Parse("s.json", withMember(t, ptr, "${X}"), env)
				if s != nil || !hasDiag(diags, ptr, `"${...}" cannot be used in`) {
					t.Fatalf("not refused at %s: %v", ptr, diags)
				}
			})
		}
	}
}

// TestEnvWhereItWorks: values copied into the runtime configuration keep
// their ${VAR} (and skip shape checks until the processor starts).
func TestEnvWhereItWorks(t *testing.T) {
	for _, ptr := range []string{
		"/inbound_clients/0/config/topics/0",
		"/inbound_clients/0/config/client_config/group_id",
		"/inbound_clients/0/config/client_config/security_protocol",
		"/inbound_clients/0/config/client_config/bootstrap_servers",
		"/outbound_clients/0/config/topic",
		"/outbound_clients/0/config/client_config/compression_type",
		"/outbound_clients/1/config/file",
		"/metrics/address",
	} {
		t.Run(ptr, func(t *testing.T) {
			s, diags := Parse("s.json", withMember(t, ptr, "${X}"), deferEnv)
			if s == nil {
				t.Fatalf("refused: %v", diags)
			}
		})
	}
}

// TestMarkerCannotBeForged: the private-use characters that stand for an
// unresolved reference are refused in input, so a literal one can neither
// skip a pattern or enum check nor reach generated code as os.Getenv.
func TestMarkerCannotBeForged(t *testing.T) {
	for _, v := range []string{"\ue000X\ue001", "a\ue000", "\ue001"} {
		for _, ptr := range []string{"/inbound_clients/0/config/client_config/security_protocol", "/inbound_clients/0/config/topics/0", "/inbound_clients/0/id"} {
			s, diags := Parse("s.json", withMember(t, ptr, v), deferEnv)
			if s != nil || !hasDiag(diags, ptr, "U+E000 or U+E001") {
				t.Errorf("%q at %s: not refused: %v", v, ptr, diags)
			}
		}
	}
	// A real reference still skips the enum check when deferred...
	if s, diags := Parse("s.json", withMember(t, "/inbound_clients/0/config/client_config/security_protocol", "${P}"), deferEnv); s == nil {
		t.Errorf("deferred reference refused: %v", diags)
	}
	// ...but not when an environment value happens to hold the marker.
	env := func(string) (string, bool) { return "\ue000NOPE", true }
	if s, _ := Parse("s.json", withMember(t, "/inbound_clients/0/config/client_config/security_protocol", "${P}"), env); s != nil {
		t.Error("a resolved value holding U+E000 skipped the enum check")
	}
}

func hasDiag(diags []Diagnostic, ptr, msg string) bool {
	for _, d := range diags {
		if d.Pointer == ptr && d.Severity == Error && strings.Contains(d.Message, msg) {
			return true
		}
	}
	return false
}
