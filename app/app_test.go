package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/settings"
)

const seed = `{"num_of_workers": 2,
 "inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["in"],
   "client_config": {"bootstrap_servers": "127.0.0.1:1", "group_id": "g"}}},
 "outbound_client_settings": {"name": "kafka_producer", "config": {"topic": "out",
   "client_config": {"bootstrap_servers": "127.0.0.1:1"}}}}`

func options(t *testing.T) Options {
	s, diags := settings.Parse("seed.json", []byte(seed), func(string) (string, bool) { return "", false })
	if s == nil {
		t.Fatalf("seed settings: %v", diags)
	}
	return Options{
		Shape:    settings.Shape(s),
		Defaults: func() runtime.Config { return s.Runtime },
		LogLevel: "info", LogFormat: "text",
		Handler: func(context.Context, *runtime.Record) ([]runtime.Output, error) { return nil, nil },
	}
}

func TestRunExitStatuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	same := write("same.json", strings.Replace(seed, `"num_of_workers": 2`, `"num_of_workers": 9`, 1))
	drift := write("drift.json", strings.Replace(seed, `"kafka_producer", "config": {"topic": "out",
   "client_config": {"bootstrap_servers": "127.0.0.1:1"}}`, `"stdout", "config": {}`, 1))
	bad := write("bad.json", `{"num_of_workers": 0}`)
	tests := []struct {
		name   string
		args   []string
		want   int
		stderr string
	}{
		{"compiled settings check", []string{"--check-settings"}, 0, "settings ok"},
		{"values may change", []string{"--check-settings", "--settings", same}, 0, "settings ok"},
		{"shape may not", []string{"--check-settings", "--settings", drift}, 1, "settings changed since code generation: run go generate (first difference at /outbound/0/name)"},
		{"invalid settings", []string{"--settings", bad}, 1, "invalid settings"},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, 2, `unexpected argument "extra"`},
		{"bad log level", []string{"--log-level", "loud"}, 2, `log level "loud"`},
		{"help", []string{"--help"}, 0, "-settings FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := Run(tt.args, &stderr, options(t)); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}
