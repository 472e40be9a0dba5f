package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/settings"
)

// A custom client ("custom": true in the settings) is the project's own:
// kgen cannot see its config type, so the generated Config holds its config
// as json.RawMessage, which runtime.Run checks against the registered
// client's schema and decodes when the processor starts.

// clientComment is the doc comment of c's Config field.
func clientComment(c client, dir string) *jen.Statement {
	if !c.Custom {
		return jen.Commentf("%s configures the %s client %q (%s).", c.Field, dir, c.ID, c.Name)
	}
	return jen.Commentf("%s configures the %s client %q (%s), a custom client:", c.Field, dir, c.ID, c.Name).Line().
		Comment("register it with runtime.Register before Main. Its config is JSON, which").Line().
		Comment("the runtime checks against the registered client's schema and decodes").Line().
		Comment("when the processor starts.")
}

// clientType is the type of c's Config field.
func clientType(c client) *jen.Statement {
	if c.Custom {
		return jen.Qual("encoding/json", "RawMessage")
	}
	return jen.Qual(c.Type.PkgPath(), c.Type.Name())
}

// clientConfigRef is what Runtime passes as c's config.
func clientConfigRef(c client) *jen.Statement {
	if c.Custom {
		return jen.Id("c").Dot(c.Field)
	}
	return jen.Op("&").Id("c").Dot(c.Field)
}

// clientValue renders c's config as DefaultConfig sets it.
func (w *literalWriter) clientValue(c client) (*jen.Statement, error) {
	if !c.Custom {
		vals, err := w.structValues(c.Value)
		if err != nil {
			return nil, err
		}
		return jen.Qual(c.Type.PkgPath(), c.Type.Name()).Add(vals), nil
	}
	dec := json.NewDecoder(bytes.NewReader(c.Raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	code, err := jsonValueCode(v)
	if err != nil {
		return nil, err
	}
	w.usedJSON = true
	return jen.Id("configJSON").Call(code), nil
}

// jsonValueCode renders a decoded JSON value as a Go value that
// encoding/json writes back as the same JSON: objects as map[string]any
// (members in name order), arrays as []any, numbers as json.Number, and
// strings with their ${VAR}s read by os.Getenv. A secret member (see
// settings.IsSecretMember) written inline is left out: only a value that
// refers to the environment is compiled in, as for the built-in clients.
func jsonValueCode(v any) (jen.Code, error) {
	switch x := v.(type) {
	case nil:
		return jen.Nil(), nil
	case bool:
		return jen.Lit(x), nil
	case string:
		return stringCode(x), nil
	case json.Number:
		return jen.Qual("encoding/json", "Number").Call(jen.Lit(x.String())), nil
	case []any:
		var items []jen.Code
		for i, e := range x {
			c, err := jsonValueCode(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			items = append(items, c)
		}
		return jen.Index().Any().Values(items...), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var items []jen.Code
		for _, k := range keys {
			if s, ok := x[k].(string); ok && settings.IsSecretMember(k) && !strings.Contains(s, envOpen) {
				continue // a secret written inline: never compiled in
			}
			c, err := jsonValueCode(x[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			items = append(items, jen.Lit(k).Op(":").Add(c))
		}
		return jen.Map(jen.String()).Any().Add(fields(items...)), nil
	}
	return nil, fmt.Errorf("cannot render a JSON value of type %T", v)
}
