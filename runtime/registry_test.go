package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testSinkConfig is the config of the client the registry tests register.
type testSinkConfig struct {
	URL     string `json:"url"`
	Retries int    `json:"retries"`
}

type nopSink struct{}

func (nopSink) Write(context.Context, []Message) error { return nil }
func (nopSink) Close(context.Context) error            { return nil }

func init() {
	Register(Client{
		Name:      "test_webhook",
		Direction: Outbound,
		Schema:    []byte(`{"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "minLength": 1}, "retries": {"type": "integer", "minimum": 0}}}`),
		NewConfig: func() any { return &testSinkConfig{} },
		Defaults: func(cfg any) any {
			c := *cfg.(*testSinkConfig)
			if c.Retries == 0 {
				c.Retries = 3
			}
			return &c
		},
		NewSink: func(any, Env) (Sink, error) { return nopSink{}, nil },
	})
	Register(Client{
		Name:      "test_decoded",
		Direction: Outbound,
		NewConfig: func() any { return &testSinkConfig{} },
		Decode: func(raw json.RawMessage, cfg any, d Diagnostics) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				d.Errorf("", "%v", err)
				return
			}
			u, _ := m["address"].(string)
			if u == "" {
				d.Errorf("/address", "missing; expected the endpoint's URL")
			}
			d.Warnf("/address", "ignored warning")
			cfg.(*testSinkConfig).URL = u
		},
		NewSink: func(any, Env) (Sink, error) { return nopSink{}, nil },
	})
}

func TestClientConfig(t *testing.T) {
	tests := []struct {
		name    string
		dir     Direction
		client  string
		cfg     any
		want    any
		wantErr string
	}{
		{name: "typed, defaults applied", dir: Outbound, client: "test_webhook",
			cfg: &testSinkConfig{URL: "http://x"}, want: &testSinkConfig{URL: "http://x", Retries: 3}},
		{name: "nil is the zero config with defaults", dir: Inbound, client: "file_reader", cfg: nil,
			want: json.RawMessage(`{"file":"","framing":"lines"}`)},
		{name: "typed nil pointer", dir: Outbound, client: "stdout", cfg: typedNil("stdout"),
			want: json.RawMessage(`{"format":"value"}`)},
		{name: "raw JSON decoded, checked and defaulted", dir: Outbound, client: "test_webhook",
			cfg: json.RawMessage(`{"url": "http://x"}`), want: &testSinkConfig{URL: "http://x", Retries: 3}},
		{name: "raw JSON against the schema", dir: Outbound, client: "test_webhook",
			cfg: json.RawMessage(`{"url": ""}`), wantErr: `outbound client "w" (test_webhook): config does not match the client's schema: /url:`},
		{name: "raw JSON with an unknown field", dir: Outbound, client: "test_webhook",
			cfg: json.RawMessage(`{"url": "http://x", "colour": 1}`), wantErr: `unknown field "colour"`},
		{name: "raw JSON through Decode", dir: Outbound, client: "test_decoded",
			cfg: json.RawMessage(`{"address": "http://y"}`), want: &testSinkConfig{URL: "http://y"}},
		{name: "Decode's errors at their pointer", dir: Outbound, client: "test_decoded",
			cfg: json.RawMessage(`{}`), wantErr: `config: /address: missing; expected the endpoint's URL`},
		{name: "built-in schema checks raw JSON", dir: Outbound, client: "stdout",
			cfg: json.RawMessage(`{"format": "xml"}`), wantErr: `config does not match the client's schema: /format:`},
		{name: "unknown name", dir: Outbound, client: "webhook", cfg: json.RawMessage(`{}`),
			wantErr: `outbound client "w" (webhook): not registered: no client of that name is registered`},
		{name: "wrong direction", dir: Inbound, client: "stdout",
			wantErr: `inbound client "w" (stdout): stdout is an outbound client`},
		{name: "wrong config type", dir: Outbound, client: "test_webhook", cfg: &Record{},
			wantErr: `config is a *runtime.Record, want a *runtime.testSinkConfig`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := clientConfig(tt.dir, "w", tt.client, tt.cfg, slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				var ce *ClientError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ce) {
					t.Fatalf("err %v, want a *ClientError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Errorf("config %s, want %s", gb, wb)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// typedNil is a nil pointer of the config type of the registered client
// name.
func typedNil(name string) any {
	c, _ := Lookup(name)
	return reflect.Zero(reflect.TypeOf(c.NewConfig())).Interface()
}

func TestClientConfigNotRegisteredIs(t *testing.T) {
	_, _, err := clientConfig(Outbound, "out", "nope", nil, slog.Default())
	if !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("err %v, want ErrNotRegistered", err)
	}
}

func TestRunRefusesUnregisteredClient(t *testing.T) {
	cfg := Config{
		Inbound:  []InboundConfig{{ID: "in", Name: "file_reader", Config: fileConfig(map[string]any{"file": "-"})}},
		Outbound: []OutboundConfig{{ID: "hook", Name: "webhook", Config: json.RawMessage(`{}`)}},
	}
	err := Run(context.Background(), cfg, func(context.Context, *Record) ([]Output, error) { return nil, nil })
	if !errors.Is(err, ErrNotRegistered) || !strings.Contains(err.Error(), `"hook" (webhook)`) {
		t.Fatalf("Run: %v, want the client named and ErrNotRegistered", err)
	}
}

func TestRegisterPanics(t *testing.T) {
	sink := func(any, Env) (Sink, error) { return nopSink{}, nil }
	cfg := func() any { return &testSinkConfig{} }
	tests := []struct {
		name string
		c    Client
	}{
		{"empty name", Client{Direction: Outbound, NewConfig: cfg, NewSink: sink}},
		{"twice", Client{Name: "stdout", Direction: Outbound, NewConfig: cfg, NewSink: sink}},
		{"no NewConfig", Client{Name: "x1", Direction: Outbound, NewSink: sink}},
		{"outbound without NewSink", Client{Name: "x2", Direction: Outbound, NewConfig: cfg}},
		{"inbound without NewSource", Client{Name: "x3", Direction: Inbound, NewConfig: cfg}},
		{"no direction", Client{Name: "x4", NewConfig: cfg, NewSink: sink}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			Register(tt.c)
		})
	}
	if _, ok := Lookup("x1"); ok {
		t.Error("a refused client was registered")
	}
}

func TestClientsSorted(t *testing.T) {
	var names []string
	for _, c := range Clients() {
		names = append(names, c.Name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Clients() not sorted: %v", names)
	}
	for _, n := range []string{"file_reader", "file_writer", "stdout"} {
		if !slices.Contains(names, n) {
			t.Errorf("built-in client %s not registered: %v", n, names)
		}
	}
}

// TestBuiltinSchemasCompile: every built-in client's schema compiles, so
// a raw config is checked rather than refused for a broken schema.
func TestBuiltinSchemasCompile(t *testing.T) {
	for _, c := range Clients() {
		if len(c.Schema) == 0 || strings.HasPrefix(c.Name, "test_") {
			continue
		}
		err := checkSchema(c, json.RawMessage(`{}`))
		if err != nil && strings.HasPrefix(err.Error(), "the client's schema") {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

// ackingSink acknowledges each Write's messages before returning, through
// an Acks, and counts them.
type ackingSink struct {
	mu    sync.Mutex
	acks  Acks
	batch []Acker
	got   []string
}

func (s *ackingSink) Write(_ context.Context, msgs []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch = s.batch[:0]
	for _, m := range msgs {
		s.got = append(s.got, string(m.Value))
		s.batch = append(s.batch, m.Ack)
	}
	s.acks.Succeed(s.batch)
	return nil
}

func (s *ackingSink) Close(context.Context) error { return nil }

// runSink is what the client test_run_sink builds and records, for the
// current TestRunWithRegisteredClient (registered once: -count=N runs it
// again).
var (
	runSinkOnce sync.Once
	runSink     struct {
		cfg  *testSinkConfig
		sink *ackingSink
	}
)

func registerRunSink() {
	Register(Client{
		Name:      "test_run_sink",
		Direction: Outbound,
		NewConfig: func() any { return &testSinkConfig{} },
		Defaults: func(cfg any) any {
			c := *cfg.(*testSinkConfig)
			c.Retries = max(c.Retries, 7)
			return &c
		},
		NewSink: func(cfg any, env Env) (Sink, error) {
			*runSink.cfg = *cfg.(*testSinkConfig)
			return runSink.sink, nil
		},
	})
}

// TestRunWithRegisteredClient: a client registered by the program, named
// with a raw JSON config, is built by Run through its descriptor (config
// decoded and defaulted) and receives every output; acknowledging inside
// Write through an Acks finishes the records.
func TestRunWithRegisteredClient(t *testing.T) {
	sink := &ackingSink{}
	var gotCfg testSinkConfig
	runSinkOnce.Do(registerRunSink)
	runSink.cfg, runSink.sink = &gotCfg, sink
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Workers:  2,
		Logger:   slog.New(slog.DiscardHandler),
		Inbound:  []InboundConfig{{ID: "in", Name: "file_reader", Config: fileConfig(map[string]any{"file": path})}},
		Outbound: []OutboundConfig{{ID: "out", Name: "test_run_sink", Config: json.RawMessage(`{"url": "http://x"}`)}},
	}
	h := func(_ context.Context, r *Record) ([]Output, error) {
		return []Output{{Value: r.Value}}, nil
	}
	if err := Run(context.Background(), cfg, h); err != nil {
		t.Fatal(err)
	}
	if gotCfg != (testSinkConfig{URL: "http://x", Retries: 7}) {
		t.Errorf("the sink was built with %+v", gotCfg)
	}
	slices.Sort(sink.got)
	if !slices.Equal(sink.got, []string{"a", "b", "c"}) {
		t.Errorf("outputs %q, want a, b, c", sink.got)
	}
}
