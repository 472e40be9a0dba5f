package generator

import (
	"fmt"
	"reflect"

	kgenmod "github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/runtime"
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
	ID       string
	Name     string // settings name, e.g. runtime.KafkaConsumer
	Field    string // Config field, from the id
	NameNode string // runtime constant naming the client, e.g. "KafkaConsumer"
	Type     string // runtime config type, e.g. "KafkaConsumerConfig"
	Slot     string // field of runtime.InboundConfig/OutboundConfig holding it
	Value    reflect.Value
	// Retries is the Config field holding MaxRetries (inbound only).
	Retries    string
	MaxRetries int
	// DefaultTopic is where harness inputs go when they name none.
	DefaultTopic string
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

// clientKinds maps a settings client name to its runtime types.
var clientKinds = map[string]struct{ node, typ, slot string }{
	runtime.KafkaConsumer: {"KafkaConsumer", "KafkaConsumerConfig", "Kafka"},
	runtime.FileReader:    {"FileReader", "FileReaderConfig", "File"},
	runtime.KafkaProducer: {"KafkaProducer", "KafkaProducerConfig", "Kafka"},
	runtime.FileWriter:    {"FileWriter", "FileWriterConfig", "File"},
	runtime.Stdout:        {"Stdout", "StdoutConfig", "Stdout"},
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
		c, err := newClient(in.ID, in.Name, names)
		if err != nil {
			return nil, fmt.Errorf("inbound client %d: %w", i, err)
		}
		switch in.Name {
		case runtime.KafkaConsumer:
			c.Value = valueOf(in.Kafka)
			if in.Kafka != nil {
				switch {
				case len(in.Kafka.Topics) > 0:
					c.DefaultTopic = in.Kafka.Topics[0]
				case len(in.Kafka.Assignments) > 0:
					c.DefaultTopic = in.Kafka.Assignments[0].Topic
				}
			}
		case runtime.FileReader:
			c.Value = valueOf(in.File)
		}
		if c.DefaultTopic == "" {
			c.DefaultTopic = in.ID
		}
		c.Retries = names.take(c.Field + "MaxRetries")
		c.MaxRetries = in.MaxRetries
		m.inbound = append(m.inbound, c)
	}
	for i, out := range s.Runtime.Outbound {
		c, err := newClient(out.ID, out.Name, names)
		if err != nil {
			return nil, fmt.Errorf("outbound client %d: %w", i, err)
		}
		switch out.Name {
		case runtime.KafkaProducer:
			c.Value = valueOf(out.Kafka)
		case runtime.FileWriter:
			c.Value = valueOf(out.File)
		case runtime.Stdout:
			c.Value = valueOf(out.Stdout)
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

func newClient(id, name string, names namer) (client, error) {
	k, ok := clientKinds[name]
	if !ok {
		return client{}, fmt.Errorf("client %q (id %q) is not supported by this kgen", name, id)
	}
	return client{
		ID:       id,
		Name:     name,
		Field:    names.take(goName(id, "Client")),
		NameNode: k.node,
		Type:     k.typ,
		Slot:     k.slot,
	}, nil
}

// valueOf dereferences a config pointer; a nil one is the zero config.
func valueOf[T any](p *T) reflect.Value {
	if p == nil {
		var zero T
		return reflect.ValueOf(zero)
	}
	return reflect.ValueOf(*p)
}
