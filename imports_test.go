package kgen_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// layer is a group of kgen's packages, by import path prefix below the
// module, and the prefixes its (non-test) code may import. The arrows of
// ARCHITECTURE.md: cmd/kgen → generator → settings → runtime/builtin →
// runtime/<client> → runtime/kafka → runtime.
var layers = []struct {
	prefix string
	may    []string
}{
	{"runtime/internal/", []string{"runtime/internal/"}},
	{"runtime/configjson", nil},
	{"runtime/clienttest", []string{"runtime"}},
	{"runtime/kafka/internal/", []string{"runtime", "runtime/configjson", "runtime/kafka/internal/", "runtime/internal/"}},
	{"runtime/kafka/consumer", []string{"runtime", "runtime/kafka", "runtime/kafka/internal/", "runtime/internal/", "runtime/configjson", "runtime/kafka/producer"}},
	{"runtime/kafka/producer", []string{"runtime", "runtime/kafka", "runtime/kafka/internal/", "runtime/internal/", "runtime/configjson"}},
	{"runtime/kafka", []string{"runtime", "runtime/kafka/internal/", "runtime/internal/"}},
	{"runtime/builtin", []string{"runtime"}}, // and every client package, below
	{"runtime/filewriter", []string{"runtime", "runtime/internal/"}},
	{"runtime/filereader", []string{"runtime", "runtime/internal/"}},
	{"runtime/stdout", []string{"runtime", "runtime/internal/"}},
	{"runtime", []string{"runtime/internal/"}},
	{"schema", nil},
	{"settings", []string{"runtime", "runtime/configjson", "schema"}},
	{"app", []string{"runtime", "settings", "app"}},
	{"generator", []string{"runtime", "settings", "schema", "templates", "kgen"}},
	{"templates", nil},
}

// TestImportsGoOneWay fails when a package of kgen imports one it must not:
// the runtime a client or the settings, a client the generator, and so on.
func TestImportsGoOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/kgen-dev/kgen"
	clients := []string{"runtime/kafka/consumer", "runtime/kafka/producer", "runtime/filewriter", "runtime/filereader", "runtime/stdout"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, mod+"/")
		if !ok {
			continue
		}
		for _, l := range layers {
			if rel != l.prefix && !strings.HasPrefix(rel, strings.TrimSuffix(l.prefix, "/")+"/") {
				continue
			}
			checked++
			may := l.may
			if l.prefix == "runtime/builtin" || l.prefix == "settings" || l.prefix == "app" || l.prefix == "generator" {
				may = append(append([]string{"runtime/builtin", "runtime/kafka"}, clients...), may...)
			}
			for _, imp := range p.Imports {
				irel, own := strings.CutPrefix(imp, mod+"/")
				if imp == mod {
					irel, own = "kgen", true
				}
				if !own || allowed(irel, may) {
					continue
				}
				t.Errorf("%s imports %s: against the one-way imports of ARCHITECTURE.md", rel, irel)
			}
			break
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; the layer table no longer matches the tree", checked)
	}
}

// allowed reports whether the package rel may be imported under may: an
// entry ending in "/" allows everything below it, any other entry exactly
// that package.
func allowed(rel string, may []string) bool {
	for _, m := range may {
		if rel == m || (strings.HasSuffix(m, "/") && strings.HasPrefix(rel, m)) {
			return true
		}
	}
	return false
}
