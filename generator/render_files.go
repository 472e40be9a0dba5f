package generator

import (
	"path"
	"slices"
	"strings"

	"github.com/kgen-dev/kgen/settings"
	"github.com/kgen-dev/kgen/templates"
)

// develVersion is the version a project requires kgen at when kgen comes
// from a source checkout through a replace directive.
const develVersion = "v0.0.0-00010101000000-000000000000"

// templateData is what the templates see.
type templateData struct {
	Module      string
	Name        string
	GoVersion   string
	KgenVersion string
	SourceDir   string
	Requires    []requirement
	Inbound     []client
	Outbound    []client
	InKind      settings.PayloadKind
	OutKind     settings.PayloadKind
	// SecretSettings is set when settings.json holds a secret written
	// inline: .gitignore then lists it.
	SecretSettings bool
}

func (m *model) templateData() templateData {
	d := templateData{
		Module:         m.module,
		Name:           projectName(m.module),
		GoVersion:      m.goMod.Go,
		KgenVersion:    m.opts.Version,
		SourceDir:      m.opts.SourceDir,
		Inbound:        m.inbound,
		Outbound:       m.outbound,
		InKind:         m.in.Kind,
		OutKind:        m.out.Kind,
		SecretSettings: len(m.inlineSecrets) > 0,
	}
	for _, r := range m.goMod.Requires {
		if r.Path != kgenModule {
			d.Requires = append(d.Requires, r)
		}
	}
	slices.SortFunc(d.Requires, func(a, b requirement) int { return strings.Compare(a.Path, b.Path) })
	if d.SourceDir != "" {
		d.KgenVersion = develVersion
		if m.opts.Golden {
			d.SourceDir = SourcePlaceholder
		}
	}
	return d
}

// projectName is the last element of a module path, usable as a file name.
func projectName(module string) string {
	n := path.Base(module)
	n = strings.TrimFunc(n, func(r rune) bool { return r == '.' || r == '-' })
	if n == "" {
		return "processor"
	}
	return n
}

func renderTemplate(name string) func(*model) ([]byte, error) {
	return func(m *model) ([]byte, error) {
		return templates.Render(name, m.templateData())
	}
}

var (
	renderGoMod     = renderTemplate("go.mod.tmpl")
	renderMakefile  = renderTemplate("Makefile.tmpl")
	renderReadme    = renderTemplate("README.md.tmpl")
	renderGitignore = renderTemplate("gitignore.tmpl")
)
