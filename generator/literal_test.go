package generator

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dave/jennifer/jen"
)

// TestStructValuesLeaveSecretsOut: a field tagged kgen:"secret" is never
// rendered unless it only refers to the environment, whatever its name;
// an untagged field is rendered.
func TestStructValuesLeaveSecretsOut(t *testing.T) {
	type webhookConfig struct {
		URL        string
		AuthHeader string `kgen:"secret"`
		Signing    string `kgen:"secret"`
		Passwords  int    // not tagged: rendered
	}
	v := reflect.ValueOf(webhookConfig{URL: "http://x", AuthHeader: "Bearer abc", Signing: must(GenerationEnv("SIGNING_KEY")), Passwords: 2})
	var w literalWriter
	st, err := w.structValues(v)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%#v", jen.Var().Id("_").Op("=").Id("T").Add(st))
	for _, want := range []string{`URL:`, `Signing:`, `SIGNING_KEY`, `Passwords: 2`} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered %s, want %s in it", got, want)
		}
	}
	if strings.Contains(got, "Bearer") || strings.Contains(got, "AuthHeader") {
		t.Errorf("rendered %s: the inline secret was compiled in", got)
	}
}

func must(s string, _ bool) string { return s }
