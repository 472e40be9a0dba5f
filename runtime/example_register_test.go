package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filereader"
)

// logConfig is the config of the example's client: the settings' "config"
// object decodes onto it (unknown fields refused).
type logConfig struct {
	Prefix string `json:"prefix"`
}

// logSink writes each message to standard output with a prefix and
// acknowledges the messages of one Write together through an Acks.
type logSink struct {
	prefix string
	mu     sync.Mutex
	acks   runtime.Acks // owned by whoever holds mu
	batch  []runtime.Acker
}

func (s *logSink) Write(_ context.Context, msgs []runtime.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch = s.batch[:0]
	for _, m := range msgs {
		fmt.Printf("%s%s\n", s.prefix, m.Value)
		s.batch = append(s.batch, m.Ack)
	}
	s.acks.Succeed(s.batch) // durable as far as this client goes
	return nil
}

func (s *logSink) Close(context.Context) error { return nil }

// A program's own outbound client: registered under a name before Run, it
// is named in the settings like a built-in one, and its config arrives as
// the settings' JSON, checked against Schema and decoded onto NewConfig.
func ExampleRegister() {
	runtime.Register(runtime.Client{
		Name:      "log",
		Direction: runtime.Outbound,
		Summary:   "writes outputs to standard output with a prefix",
		Schema:    []byte(`{"type": "object", "properties": {"prefix": {"type": "string"}}}`),
		NewConfig: func() any { return &logConfig{} },
		Defaults: func(cfg any) any {
			c := *cfg.(*logConfig)
			if c.Prefix == "" {
				c.Prefix = "> "
			}
			return &c
		},
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			return &logSink{prefix: cfg.(*logConfig).Prefix}, nil
		},
	})
	// Name it in the settings, or in a Config by hand:
	cfg := runtime.Config{
		Inbound:  []runtime.InboundConfig{{ID: "in", Name: filereader.Name, Config: &filereader.Config{Path: "-"}}},
		Outbound: []runtime.OutboundConfig{{ID: "audit", Name: "log", Config: json.RawMessage(`{"prefix": "audit: "}`)}},
	}
	h := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
		return []runtime.Output{{Value: r.Value}}, nil
	}
	if err := runtime.Run(context.Background(), cfg, h); err != nil {
		fmt.Println(err)
	}
}
