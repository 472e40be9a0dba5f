package settings

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// noInterpolation lists the subtrees whose strings are taken literally:
// payload schemas are code-generation input, not run-time configuration.
var noInterpolation = []string{"/payload/inbound/schema", "/payload/outbound/schema"}

// interpolation is the result of expanding ${ENV_VAR} references.
type interpolation struct {
	// fromEnv holds the pointers of strings that held a reference.
	fromEnv map[string]bool
	diags   []Diagnostic
}

// interpolate replaces ${NAME} in every string value of v (in place) with
// the variable's value from env; "$${" stands for a literal "${". Member
// names are never expanded.
// DeferredMark starts a ${VAR} reference that an env function chose not to
// resolve (it returned the name between DeferredMark and U+E001, as kgen's
// generation-time environment does): shape checks such as patterns and
// enums skip such values, which are checked when resolved at run time.
const DeferredMark = '\uE000'

func interpolate(v any, env func(string) (string, bool)) (any, interpolation) {
	in := interpolation{fromEnv: map[string]bool{}}
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	var walk func(ptr string, v any) any
	walk = func(ptr string, v any) any {
		for _, p := range noInterpolation {
			if ptr == p {
				return v
			}
		}
		switch n := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(n))
			for k := range n {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				n[k] = walk(ptr+"/"+escapePointer(k), n[k])
			}
		case []any:
			for i := range n {
				n[i] = walk(ptr+"/"+strconv.Itoa(i), n[i])
			}
		case string:
			s, refs, err := expand(n, env)
			if err != nil {
				in.diags = append(in.diags, Diagnostic{Severity: Error, Pointer: ptr, Message: err.Error()})
				return n
			}
			if refs > 0 {
				in.fromEnv[ptr] = true
			}
			return s
		}
		return v
	}
	return walk("", v), in
}

// expand expands one string, returning how many references it held.
func expand(s string, env func(string) (string, bool)) (string, int, error) {
	if !strings.Contains(s, "${") {
		return s, 0, nil
	}
	var b strings.Builder
	refs := 0
	var missing []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' { // "$${": a literal "${"
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", 0, fmt.Errorf("unterminated \"${\" in %s (write \"$${\" for a literal \"${\")", quoteShort(s))
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", 0, fmt.Errorf("invalid environment variable name %s in \"${...}\" (expected letters, digits and _, not starting with a digit; write \"$${\" for a literal \"${\")", quoteShort(name))
		}
		val, ok := env(name)
		if !ok {
			missing = append(missing, name)
		}
		b.WriteString(val)
		refs++
		s = s[i+end+1:]
	}
	switch len(missing) {
	case 0:
	case 1:
		return "", 0, fmt.Errorf("environment variable %s is not set", missing[0])
	default:
		return "", 0, fmt.Errorf("environment variables %s are not set", strings.Join(missing, ", "))
	}
	return b.String(), refs, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
