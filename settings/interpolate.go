package settings

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// noInterpolation lists the subtrees whose strings are taken literally:
// payload schemas are code-generation input, not run-time configuration.
var noInterpolation = []string{"/payload/inbound/schema", "/payload/outbound/schema"}

// envMembers are the members whose string values (or array items) may hold
// ${ENV_VAR}: values the runtime configuration takes as they are, which
// generated code reads from the environment when the processor starts.
// Elsewhere (client ids and names, on_failure, logging, payload types, file
// modes, framings, timeouts written as strings, acks, ...) the value shapes
// the generated code or is converted when it is generated, so a reference
// cannot work and is refused.
var envMembers = map[string]bool{
	"topics": true, "topic": true, "file": true, "dead_letter_topic": true,
	"bootstrap_servers": true, "client_id": true, "group_id": true, "auto_offset_reset": true,
	"isolation_level": true, "compression_type": true, "partitioner": true,
	"security_protocol": true, "sasl_mechanism": true, "sasl_plain_username": true, "sasl_plain_password": true,
	"ssl_cafile": true, "ssl_certfile": true, "ssl_keyfile": true, "ssl_password": true,
	"ssl_crlfile": true, "ssl_ciphers": true, "api_version": true, "metric_group_prefix": true,
	"sasl_kerberos_service_name": true, "sasl_kerberos_domain_name": true,
}

// envAllowed reports whether the string at ptr may hold ${ENV_VAR}.
func envAllowed(ptr string) bool {
	toks := splitPointer(ptr)
	if len(toks) == 2 && toks[0] == "metrics" && toks[1] == "address" {
		return true
	}
	for i := len(toks) - 1; i >= 0; i-- {
		if _, err := strconv.Atoi(toks[i]); err == nil && i == len(toks)-1 {
			continue // an array item: its array's name decides
		}
		return i >= 1 && envMembers[toks[i]]
	}
	return false
}

// under reports whether ptr is inside one of the subtrees at roots.
func under(ptr string, roots []string) bool {
	for _, r := range roots {
		if strings.HasPrefix(ptr, r+"/") {
			return true
		}
	}
	return false
}

// customConfigs returns the pointers of the config objects of custom
// clients ("custom": true) in the settings tree v.
func customConfigs(v any) []string {
	root, _ := v.(map[string]any)
	var out []string
	add := func(ptr string, c any) {
		if m, ok := c.(map[string]any); ok && m["custom"] == true {
			out = append(out, ptr+"/config")
		}
	}
	for _, one := range []string{"inbound_client_settings", "outbound_client_settings"} {
		add("/"+one, root[one])
	}
	for _, many := range []string{"inbound_clients", "outbound_clients"} {
		list, _ := root[many].([]any)
		for i, c := range list {
			add("/"+many+"/"+strconv.Itoa(i), c)
		}
	}
	return out
}

// interpolation is the result of expanding ${ENV_VAR} references.
type interpolation struct {
	// fromEnv holds the pointers of strings that held a reference.
	fromEnv map[string]bool
	// deferred holds the pointers of strings with a reference the env
	// function left unresolved (see DeferredMark).
	deferred map[string]bool
	// written holds each string with a reference as the file wrote it.
	written map[string]string
	diags   []Diagnostic
}

// DeferredMark starts a ${VAR} reference that an env function chose not to
// resolve: it returned Deferred(name), as kgen's generation-time environment
// does. Shape checks such as patterns and enums skip such values, which are
// checked when resolved at run time. Input holding DeferredMark or
// DeferredEnd is refused, so no settings text can pass for a reference.
const (
	DeferredMark = configjson.DeferredMark
	DeferredEnd  = configjson.DeferredEnd
)

// Deferred is what an env function returns to leave ${name} unresolved.
func Deferred(name string) string {
	return string(DeferredMark) + name + string(DeferredEnd)
}

// interpolate replaces ${NAME} in every string value of v (in place) with
// the variable's value from env; "$${" stands for a literal "${". Member
// names are never expanded.
//
// Any string under one of the pointers in open may hold a reference (the
// configs of custom clients: kgen does not know what their members mean,
// and the processor resolves them when it starts).
func interpolate(v any, env func(string) (string, bool), open []string) (any, interpolation) {
	in := interpolation{fromEnv: map[string]bool{}, deferred: map[string]bool{}, written: map[string]string{}}
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
				n[k] = walk(ptr+"/"+configjson.EscapePointer(k), n[k])
			}
		case []any:
			for i := range n {
				n[i] = walk(ptr+"/"+strconv.Itoa(i), n[i])
			}
		case string:
			if strings.ContainsAny(n, string(DeferredMark)+string(DeferredEnd)) {
				in.diags = append(in.diags, Diagnostic{Severity: Error, Pointer: ptr,
					Message: "holds U+E000 or U+E001, private-use characters kgen reserves for ${...} references; remove them"})
				return n
			}
			s, refs, deferred, err := expand(n, env, isSecretPointer(ptr))
			if err == nil && refs > 0 && !envAllowed(ptr) && !under(ptr, open) {
				err = fmt.Errorf("\"${...}\" cannot be used in %s: its value shapes the generated code or is converted when the code is generated; write the value itself (\"$${\" for a literal \"${\")", lastToken(ptr))
			}
			if err != nil {
				in.diags = append(in.diags, Diagnostic{Severity: Error, Pointer: ptr, Message: err.Error()})
				return n
			}
			if refs > 0 {
				in.fromEnv[ptr] = true
				in.written[ptr] = n
			}
			if deferred {
				in.deferred[ptr] = true
			}
			return s
		}
		return v
	}
	return walk("", v), in
}

// expand expands one string, returning how many references it held and
// whether env deferred any of them.
// A secret's text is kept out of the error messages.
func expand(s string, env func(string) (string, bool), secret bool) (string, int, bool, error) {
	if !strings.Contains(s, "${") {
		return s, 0, false, nil
	}
	var b strings.Builder
	refs := 0
	deferred := false
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
			text := configjson.QuoteShort(s[i:])
			if secret {
				text = secretShown
			}
			return "", 0, false, fmt.Errorf("unterminated \"${\" in %s (write \"$${\" for a literal \"${\")", text)
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			if secret {
				return "", 0, false, fmt.Errorf("invalid environment variable name in \"${...}\" (expected letters, digits and _, not starting with a digit; write \"$${\" for a literal \"${\")")
			}
			return "", 0, false, fmt.Errorf("invalid environment variable name %s in \"${...}\" (expected letters, digits and _, not starting with a digit; write \"$${\" for a literal \"${\")", configjson.QuoteShort(name))
		}
		val, ok := env(name)
		if !ok {
			missing = append(missing, name)
		}
		if val == Deferred(name) {
			deferred = true
		}
		b.WriteString(val)
		refs++
		s = s[i+end+1:]
	}
	switch len(missing) {
	case 0:
	case 1:
		return "", 0, false, fmt.Errorf("environment variable %s is not set", missing[0])
	default:
		return "", 0, false, fmt.Errorf("environment variables %s are not set", strings.Join(missing, ", "))
	}
	return b.String(), refs, deferred, nil
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

// secretShown stands for a secret value in messages.
const secretShown = "a secret value (not shown)"

// IsSecretMember reports whether a settings member holds a secret
// (sasl_plain_password, ssl_password, or any name with password, secret,
// token, authorization or api key in it, such as a custom client's
// {"headers": {"Authorization": ...}}): its value is never shown in a
// diagnostic, never compiled into generated code, and makes a copy of the
// file private.
func IsSecretMember(name string) bool {
	n := strings.ToLower(name)
	for _, word := range []string{"password", "secret", "token", "authorization", "apikey", "api_key", "api-key"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

func isSecretPointer(ptr string) bool {
	return IsSecretMember(lastToken(ptr))
}

// secretScrubber returns a function that replaces, in a message, every
// secret value of the settings (as written and as resolved), and the
// shortened form quoteShort would give, by a placeholder: a last guard for
// messages that quote a value they did not know was secret.
func secretScrubber(tree any, in interpolation) func(string) string {
	var secrets []string
	add := func(s string) {
		if len(s) < 3 {
			return
		}
		secrets = append(secrets, s, configjson.QuoteShort(s))
		if q := configjson.QuoteShort(s); strings.HasSuffix(q, "...") {
			secrets = append(secrets, strings.TrimSuffix(strings.TrimSuffix(q, "..."), `"`))
		}
	}
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch n := v.(type) {
		case map[string]any:
			for k, c := range n {
				walk(ptr+"/"+configjson.EscapePointer(k), c)
			}
		case []any:
			for i, c := range n {
				walk(ptr+"/"+strconv.Itoa(i), c)
			}
		case string:
			if isSecretPointer(ptr) {
				add(n)
				if w, ok := in.written[ptr]; ok {
					add(w)
				}
			}
		}
	}
	walk("", tree)
	if len(secrets) == 0 {
		return func(s string) string { return s }
	}
	// Longest first, so that a secret's prefix does not hide the rest.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return func(msg string) string {
		for _, s := range secrets {
			msg = strings.ReplaceAll(msg, s, "<secret>")
		}
		return msg
	}
}
