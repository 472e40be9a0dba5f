package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Direction says which side of the processor a client is on.
type Direction int

// The directions.
const (
	// Inbound clients are Sources: records come from them.
	Inbound Direction = iota + 1
	// Outbound clients are Sinks: the outputs of the handler go to them.
	Outbound
)

// String returns "inbound" or "outbound".
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Client describes one kind of client, inbound or outbound. Register makes
// it known by Name; Run looks up every client of its Config by name and
// builds it with the descriptor: NewConfig and Decode when the config is
// raw JSON, then Defaults, then NewSource or NewSink.
type Client struct {
	// Name is the settings' "name" of the client, e.g. "kafka_producer".
	Name      string
	Direction Direction
	// Summary is one line for help and errors.
	Summary string
	// Schema is the JSON Schema of the client's settings "config" object
	// (self-contained: its $refs point into its own $defs). Empty means
	// no check.
	Schema []byte
	// NewConfig returns a pointer to a zero config struct, e.g.
	// &producer.Config{} (runtime/kafka/producer): the type InboundConfig.Config or
	// OutboundConfig.Config holds for this client.
	NewConfig func() any
	// Defaults returns a copy of cfg (the same pointer type) with every
	// zero field set to its default. Run applies it once, before NewSource
	// or NewSink. nil means the zero config is the default.
	Defaults func(cfg any) any
	// NewSource builds an Inbound client from its defaulted config.
	NewSource func(cfg any, env Env) (Source, error)
	// NewSink builds an Outbound client from its defaulted config.
	NewSink func(cfg any, env Env) (Sink, error)
	// DeadLetters, optional for an Inbound client, builds the sink its
	// dead letters go to (for the Kafka consumer, a producer on the same
	// cluster writing topic). Without it, records of the client that the
	// failure policy dead-letters have no dead-letter sink.
	DeadLetters func(cfg any, topic string, env Env) (Sink, error)
	// Decode, optional, sets cfg (from NewConfig) from the settings'
	// "config" object raw, reporting each problem at its JSON pointer
	// relative to raw ("" is raw itself). nil means plain JSON decoding
	// onto cfg with unknown fields refused.
	Decode func(raw json.RawMessage, cfg any, d Diagnostics)
}

// Env is what a client's factory gets besides its config.
type Env struct {
	// ID is the client's id in the settings.
	ID string
	// Workers is the engine's worker count (the file writer keeps one
	// file per worker).
	Workers int
	// Flow is the engine's flow configuration, defaults applied.
	Flow FlowConfig
	// Logger is the processor's logger; clients add their component and
	// id.
	Logger *slog.Logger
}

// Diagnostics collects the problems found while decoding a client's
// config. ptr is a JSON pointer relative to the config object ("" for the
// object itself, "/topic" for its member topic).
type Diagnostics interface {
	// Errorf reports a problem the config cannot be used with.
	Errorf(ptr, format string, args ...any)
	// Warnf reports something suspicious that does not stop the run.
	Warnf(ptr, format string, args ...any)
	// NoEffect reports that option, set at ptr, is accepted but has no
	// effect with this client, and why (a warning; kgen vet names all
	// such options on one line).
	NoEffect(ptr, option, why string)
	// ClientID is the id of the client whose config is decoded, for
	// messages that name it.
	ClientID() string
}

var registry struct {
	mu      sync.RWMutex
	clients map[string]Client
}

// Register makes c known by c.Name. It panics, as http.Handle does, on a
// programming error: an empty or already registered name, a missing
// NewConfig, or a Direction without its factory (NewSource for Inbound,
// NewSink for Outbound). Call it from an init function or before Run.
func Register(c Client) {
	switch {
	case c.Name == "":
		panic("runtime.Register: empty client name")
	case c.NewConfig == nil:
		panic(fmt.Sprintf("runtime.Register(%q): NewConfig is nil", c.Name))
	case c.Direction == Inbound && c.NewSource == nil:
		panic(fmt.Sprintf("runtime.Register(%q): inbound client without NewSource", c.Name))
	case c.Direction == Outbound && c.NewSink == nil:
		panic(fmt.Sprintf("runtime.Register(%q): outbound client without NewSink", c.Name))
	case c.Direction != Inbound && c.Direction != Outbound:
		panic(fmt.Sprintf("runtime.Register(%q): direction %v is neither Inbound nor Outbound", c.Name, c.Direction))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.clients[c.Name]; dup {
		panic(fmt.Sprintf("runtime.Register: client %q registered twice", c.Name))
	}
	if registry.clients == nil {
		registry.clients = map[string]Client{}
	}
	registry.clients[c.Name] = c
}

// Lookup returns the client registered as name.
func Lookup(name string) (Client, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	c, ok := registry.clients[name]
	return c, ok
}

// Clients returns every registered client, sorted by name.
func Clients() []Client {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	out := make([]Client, 0, len(registry.clients))
	for _, c := range registry.clients {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Client) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ClientError is a client of a Config that cannot be built as configured:
// not registered, of the wrong direction, or with a config that is not its
// type or does not decode.
type ClientError struct {
	Direction Direction
	ID, Name  string
	Err       error
}

func (e *ClientError) Error() string {
	return fmt.Sprintf("%s client %q (%s): %v", e.Direction, e.ID, e.Name, e.Err)
}

func (e *ClientError) Unwrap() error { return e.Err }

// ErrNotRegistered is the error of a ClientError whose name no Register
// call made known.
var ErrNotRegistered = errors.New("not registered")

// clientConfig looks up the client name of direction dir and returns its
// descriptor and its config with defaults applied: cfg itself when it is
// the client's config type, decoded and checked against the client's
// schema when it is a json.RawMessage (Decode's warnings logged to log
// when not nil), the zero config when nil.
func clientConfig(dir Direction, id, name string, cfg any, log *slog.Logger) (Client, any, error) {
	fail := func(err error) (Client, any, error) {
		return Client{}, nil, &ClientError{Direction: dir, ID: id, Name: name, Err: err}
	}
	c, ok := Lookup(name)
	if !ok {
		return fail(fmt.Errorf("%w: no client of that name is registered (a program's own client is registered with runtime.Register before Run)", ErrNotRegistered))
	}
	if c.Direction != dir {
		return fail(fmt.Errorf("%s is an %s client", name, c.Direction))
	}
	want := reflect.TypeOf(c.NewConfig())
	switch v := cfg.(type) {
	case nil:
		cfg = c.NewConfig()
	case json.RawMessage:
		dec, err := decodeConfig(c, id, v, log.With("client", id))
		if err != nil {
			return fail(err)
		}
		cfg = dec
	default:
		if reflect.TypeOf(cfg) != want {
			return fail(fmt.Errorf("config is a %T, want a %v", cfg, want))
		}
		if reflect.ValueOf(cfg).IsNil() {
			cfg = c.NewConfig()
		}
	}
	if c.Defaults != nil {
		cfg = c.Defaults(cfg)
	}
	return c, cfg, nil
}

// decodeConfig checks raw against c.Schema and decodes it onto a new
// config of c.
func decodeConfig(c Client, id string, raw json.RawMessage, log *slog.Logger) (any, error) {
	if len(c.Schema) > 0 {
		if err := checkSchema(c, raw); err != nil {
			return nil, err
		}
	}
	cfg := c.NewConfig()
	if c.Decode != nil {
		d := configDiagnostics{id: id, log: log}
		c.Decode(raw, cfg, &d)
		if len(d.errs) > 0 {
			return nil, fmt.Errorf("config: %s", strings.Join(d.errs, "; "))
		}
		return cfg, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config: data after the JSON object")
	}
	return cfg, nil
}

// compiledSchemas caches each client's compiled Schema by name.
var compiledSchemas sync.Map // name → *jsonschema.Schema

// checkSchema validates raw against c.Schema.
func checkSchema(c Client, raw json.RawMessage) error {
	s, ok := compiledSchemas.Load(c.Name)
	if !ok {
		comp := jsonschema.NewCompiler()
		url := "kgen:///clients/" + c.Name + ".schema.json"
		if err := comp.AddResource(url, bytes.NewReader(c.Schema)); err != nil {
			return fmt.Errorf("the client's schema: %w", err)
		}
		cs, err := comp.Compile(url)
		if err != nil {
			return fmt.Errorf("the client's schema: %w", err)
		}
		s, _ = compiledSchemas.LoadOrStore(c.Name, cs)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := s.(*jsonschema.Schema).Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("config does not match the client's schema: %s", schemaProblems(ve))
		}
		return fmt.Errorf("config does not match the client's schema: %w", err)
	}
	return nil
}

// schemaProblems lists the innermost problems of ve, each at its place.
func schemaProblems(ve *jsonschema.ValidationError) string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := e.InstanceLocation
			if loc == "" {
				loc = "(the config object)"
			}
			out = append(out, loc+": "+e.Message)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(out, "; ")
}

// configDiagnostics collects a Decode's errors and logs its warnings.
type configDiagnostics struct {
	id   string
	errs []string
	log  *slog.Logger
}

func (d *configDiagnostics) Errorf(ptr, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ptr != "" {
		msg = ptr + ": " + msg
	}
	d.errs = append(d.errs, msg)
}

func (d *configDiagnostics) Warnf(ptr, format string, args ...any) {
	d.log.Warn("client config: "+fmt.Sprintf(format, args...), "pointer", ptr)
}

func (d *configDiagnostics) NoEffect(ptr, option, why string) {
	d.Warnf(ptr, "%s has no effect: %s", option, why)
}

func (d *configDiagnostics) ClientID() string { return d.id }

// CheckClients reports the first client of c that Run would refuse: a
// name not registered (or of the other direction), or a config the
// client does not take (a raw JSON config is checked against the
// client's schema and decoded). Validate leaves it out: a program that
// only inspects a Config (kgen itself) need not link every client; a
// processor's --check-settings runs both.
func (c Config) CheckClients() error {
	quiet := slog.New(slog.DiscardHandler)
	for _, in := range c.Inbound {
		if _, _, err := clientConfig(Inbound, in.ID, in.Name, in.Config, quiet); err != nil {
			return err
		}
	}
	for _, out := range c.Outbound {
		if _, _, err := clientConfig(Outbound, out.ID, out.Name, out.Config, quiet); err != nil {
			return err
		}
	}
	return nil
}
