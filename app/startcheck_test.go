package app

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/settings"
)

// TestCompiledSettingsCheckedAtStart: run with the compiled-in settings, an
// unset ${VAR} is refused by name and a value it makes invalid is refused
// as --settings FILE refuses it (before, the variable read "" and the
// client fell back to PLAINTEXT with "settings ok").
func TestCompiledSettingsCheckedAtStart(t *testing.T) {
	withEnv := strings.Replace(seed, `"group_id": "g"`, `"group_id": "g", "security_protocol": "${KGEN_TEST_PROTO}"`, 1)
	check, err := settings.StartCheck([]byte(withEnv))
	if err != nil || check == "" {
		t.Fatalf("StartCheck: %q, %v", check, err)
	}
	tests := []struct {
		name, proto string
		set         bool
		want        int
		stderr      string
	}{
		{"unset", "", false, 1, "environment variable KGEN_TEST_PROTO is not set"},
		{"invalid", "TLS", true, 1, `got "${KGEN_TEST_PROTO}" (= "TLS"); expected`},
		{"valid", "PLAINTEXT", true, 0, "settings ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KGEN_TEST_PROTO", tt.proto)
			if !tt.set {
				unsetenv(t, "KGEN_TEST_PROTO")
			}
			o := options(t)
			o.Settings = check
			var stderr bytes.Buffer
			if got := Run([]string{"--check-settings"}, &stderr, o); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}

func unsetenv(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
