package settings

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden *.txt files of testdata/settings")

const fixtures = "../testdata/settings"

// testEnv is the environment the fixtures are parsed with.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"KAFKA_PASSWORD": "s3cret",
		"IN_TOPIC":       "orders",
	}[name]
	return v, ok
}

func formatAll(diags []Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(Format(d))
		b.WriteByte('\n')
	}
	return b.String()
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./settings -update)", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ from %s (run go test ./settings -update to accept)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestGood parses every *.good.json: no error, a runtime.Config the engine
// accepts, and the warnings in *.good.txt.
func TestGood(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.good.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, diags := Parse(name, data, testEnv)
			if s == nil {
				t.Fatalf("not valid:\n%s", formatAll(diags))
			}
			for _, d := range diags {
				if d.Severity != Warning {
					t.Errorf("unexpected %s", Format(d))
				}
			}
			if err := s.Runtime.Validate(); err != nil {
				t.Errorf("runtime.Config.Validate: %v", err)
			}
			golden(t, strings.TrimSuffix(f, ".json")+".txt", formatAll(diags))
		})
	}
}

// TestBad parses every *.bad.json and compares the diagnostics with the
// *.bad.txt beside it.
func TestBad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.bad.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, diags := Parse(name, data, testEnv)
			if s != nil {
				t.Errorf("accepted; want an error")
			}
			if !hasErrorDiag(diags) {
				t.Errorf("no error diagnostic")
			}
			golden(t, strings.TrimSuffix(f, ".json")+".txt", formatAll(diags))
		})
	}
}

func hasErrorDiag(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == Error {
			return true
		}
	}
	return false
}
