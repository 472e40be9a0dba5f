package settings

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addFixtures(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	hostile, _ := filepath.Glob(filepath.Join(fixtures, "..", "hostile", "*.json"))
	for _, file := range hostile {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParse states Parse's invariants: it never panics; it returns either
// an Error diagnostic and no Settings, or Settings whose runtime.Config
// the engine accepts; diagnostics are one line each, sorted by position.
func FuzzParse(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, diags := Parse("f.json", data, testEnv)
		hasErr := hasErrorDiag(diags)
		if (s == nil) != hasErr {
			t.Fatalf("settings %v with error diagnostics %v", s != nil, hasErr)
		}
		if s != nil {
			if err := s.Runtime.Validate(); err != nil {
				t.Fatalf("valid settings, invalid runtime.Config: %v", err)
			}
			if sh := Shape(s); ShapeDiff(sh, sh) != "" || !json.Valid([]byte(sh)) {
				t.Fatalf("bad shape %s", sh)
			}
		}
		for i, d := range diags {
			if d.Message == "" || strings.ContainsAny(Format(d), "\n\r") {
				t.Fatalf("bad diagnostic %q", Format(d))
			}
			if i > 0 && (d.Line < diags[i-1].Line || d.Line == diags[i-1].Line && d.Col < diags[i-1].Col) {
				t.Fatalf("diagnostics out of order: %q after %q", Format(d), Format(diags[i-1]))
			}
		}
	})
}

// FuzzMigrate: Migrate never panics, and what it changes is valid JSON
// that needs no further migration, made by inserting text at one place
// (every byte of the file is kept).
func FuzzMigrate(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, changed, err := Migrate(data)
		if err != nil || !changed {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output %q", out)
		}
		i := 0
		for i < len(data) && out[i] == data[i] {
			i++
		}
		if n := len(out) - len(data); n <= 0 || !bytes.Equal(out[i+n:], data[i:]) {
			t.Fatalf("not an insertion: %q -> %q", data, out)
		}
		if _, again, err := Migrate(out); again || err != nil {
			t.Fatalf("second migration: changed %v, err %v", again, err)
		}
	})
}
