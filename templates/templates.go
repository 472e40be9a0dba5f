// Package templates holds the files of a generated project that the
// settings barely change (README, Makefile, go.mod, and the user's
// written-once process.go, process_test.go and main.go) as text/template
// files. The generator renders them (and gofmt's the Go ones); the
// generated Go of kgen/ is rendered with jennifer instead.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

//go:embed grafana-dashboard.json
var dashboard []byte

// Dashboard returns the Grafana dashboard for the runtime's metrics that
// every project ships as kgen/grafana-dashboard.json. It is plain JSON, not
// a template: Grafana's own ${variables} stay as they are.
func Dashboard() []byte {
	return bytes.Clone(dashboard)
}

var all = template.Must(template.New("").Funcs(template.FuncMap{
	// modpath quotes a go.mod path when it needs quoting.
	"modpath": func(s string) string {
		if strings.ContainsAny(s, " \t\"'`\\") {
			return strconv.Quote(s)
		}
		return s
	},
}).ParseFS(files, "*.tmpl"))

// Render executes the template name (e.g. "Makefile.tmpl") with data.
func Render(name string, data any) ([]byte, error) {
	t := all.Lookup(name)
	if t == nil {
		return nil, fmt.Errorf("no template %q", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
