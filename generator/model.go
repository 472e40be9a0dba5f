package generator

import (
	"encoding/json"
	"fmt"
	"reflect"

	kgenmod "github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/settings"
)

const (
	kgenModule  = "github.com/kgen-dev/kgen"
	runtimePath = kgenModule + "/runtime"
	appPath     = kgenModule + "/app"
	settingsPkg = kgenModule + "/settings"
)

// client is one inbound or outbound client as the generated code names it.
type client struct {
	ID    string
	Name  string // settings name, e.g. consumer.Name
	Field string // Config field, from the id
	// Type is the client's config type, from its registered descriptor's
	// NewConfig (e.g. consumer.Config).
	Type  reflect.Type
	Value reflect.Value
	// Retries is the Config field holding MaxRetries (inbound only).
	Retries    string
	MaxRetries int
	// DefaultTopic is where harness inputs go when they name none.
	DefaultTopic string
	// Custom is a client of the user's own ("custom": true): kgen cannot
	// see its config type; Raw is its config as the settings give it
	// (${VAR}s as markers), which the generated code passes to the
	// runtime as JSON. Type and Value are unset.
	Custom bool
	Raw    json.RawMessage
}

// model is everything the renderers need, computed once.
type model struct {
	s        *settings.Settings
	opts     Options
	module   string
	pkgPath  string // import path of the generated kgen package
	inbound  []client
	outbound []client
	shape    string
	in, out  *payloadType
	goMod    goModInfo
	goSum    []byte
	// startCheck is settings.StartCheck of the settings: "" when they
	// refer to no environment variable.
	startCheck string
	// inlineSecrets are the pointers of secrets written inline.
	inlineSecrets []string
}

// reservedFields are Config's fixed fields.
var reservedFields = []string{"Workers", "Failure", "Flow", "MetricsAddr"}

func newModel(s *settings.Settings, opts Options) (*model, error) {
	m := &model{s: s, opts: opts, module: opts.Module, pkgPath: opts.Module + "/" + OwnedDir}
	if m.opts.GoMod == nil {
		m.opts.GoMod = kgenmod.GoMod
	}
	if m.opts.GoSum == nil {
		m.opts.GoSum = kgenmod.GoSum
	}
	gm, err := parseGoMod(m.opts.GoMod)
	if err != nil {
		return nil, fmt.Errorf("kgen's go.mod: %w", err)
	}
	m.goMod = gm
	m.goSum = m.opts.GoSum

	names := namer{}
	for _, r := range reservedFields {
		names[r] = true
	}
	for i, in := range s.Runtime.Inbound {
		c, err := newClient(runtime.Inbound, in.ID, in.Name, in.Config, names)
		if err != nil {
			return nil, fmt.Errorf("inbound client %d: %w", i, err)
		}
		if k, ok := in.Config.(*consumer.Config); ok && k != nil {
			switch {
			case len(k.Topics) > 0:
				c.DefaultTopic = k.Topics[0]
			case len(k.Assignments) > 0:
				c.DefaultTopic = k.Assignments[0].Topic
			}
		}
		if c.DefaultTopic == "" {
			c.DefaultTopic = in.ID
		}
		c.Retries = names.take(c.Field + "MaxRetries")
		c.MaxRetries = in.MaxRetries
		m.inbound = append(m.inbound, c)
	}
	for i, out := range s.Runtime.Outbound {
		c, err := newClient(runtime.Outbound, out.ID, out.Name, out.Config, names)
		if err != nil {
			return nil, fmt.Errorf("outbound client %d: %w", i, err)
		}
		m.outbound = append(m.outbound, c)
	}
	if len(m.inbound) == 0 {
		return nil, fmt.Errorf("settings have no inbound client")
	}
	m.shape = settings.Shape(s)
	if m.in, m.out, err = payloadTypes(s.InPayload, s.OutPayload); err != nil {
		return nil, err
	}
	return m, nil
}

// newClient names the client id of the registered client name, whose
// config cfg is a pointer to the descriptor's config type (nil: the zero
// config), or the JSON config (json.RawMessage) of a custom client, which
// only the project registers.
func newClient(dir runtime.Direction, id, name string, cfg any, names namer) (client, error) {
	if raw, ok := cfg.(json.RawMessage); ok {
		return client{ID: id, Name: name, Field: names.take(goName(id, "Client")), Custom: true, Raw: raw}, nil
	}
	d, ok := runtime.Lookup(name)
	if !ok || d.Direction != dir {
		return client{}, fmt.Errorf("client %q (id %q) is not supported by this kgen (no %s client of that name is registered)", name, id, dir)
	}
	t := reflect.TypeOf(d.NewConfig())
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || t.Elem().Name() == "" {
		return client{}, fmt.Errorf("client %q (id %q): config type %v is not a pointer to a named struct", name, id, t)
	}
	v := reflect.New(t.Elem()).Elem()
	if cfg != nil {
		cv := reflect.ValueOf(cfg)
		if cv.Type() != t {
			return client{}, fmt.Errorf("client %q (id %q): config is a %T, want a %v", name, id, cfg, t)
		}
		if !cv.IsNil() {
			v = cv.Elem()
		}
	}
	return client{
		ID:    id,
		Name:  name,
		Field: names.take(goName(id, "Client")),
		Type:  t.Elem(),
		Value: v,
	}, nil
}
