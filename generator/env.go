package generator

import (
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/settings"
)

// Markers around a variable name in settings parsed with GenerationEnv:
// private-use code points that settings.Parse refuses in its input, so only
// a ${NAME} reference can produce them.
const (
	envOpen  = string(settings.DeferredMark)
	envClose = string(settings.DeferredEnd)
)

// GenerationEnv is the environment to parse settings with for generation.
// It resolves no ${NAME} to its value, so that generated code does not
// depend on the machine that generates it (and "kgen generate --check"
// agrees everywhere); instead each reference becomes a marker that the
// generated DefaultConfig turns back into os.Getenv("NAME"), read when the
// processor starts.
func GenerationEnv(name string) (string, bool) {
	return settings.Deferred(name), true
}

// envParts splits s into literal text and variable references.
func envParts(s string) (parts []envPart) {
	for {
		i := strings.Index(s, envOpen)
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], envClose)
		if j < 0 {
			break
		}
		if i > 0 {
			parts = append(parts, envPart{text: s[:i]})
		}
		parts = append(parts, envPart{text: s[i+len(envOpen) : i+j], isVar: true})
		s = s[i+j+len(envClose):]
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, envPart{text: s})
	}
	return parts
}

type envPart struct {
	text  string
	isVar bool
}

// onlyEnv reports whether s is made of variable references alone.
func onlyEnv(s string) bool {
	for _, p := range envParts(s) {
		if !p.isVar {
			return false
		}
	}
	return true
}

// stringCode renders s, its variable references as os.Getenv calls.
func stringCode(s string) jen.Code {
	parts := envParts(s)
	var c *jen.Statement
	for _, p := range parts {
		var e jen.Code = jen.Lit(p.text)
		if p.isVar {
			e = jen.Qual("os", "Getenv").Call(jen.Lit(p.text))
		}
		if c == nil {
			c = jen.Add(e)
		} else {
			c.Op("+").Add(e)
		}
	}
	return c
}
