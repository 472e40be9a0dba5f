package harness_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kgen-dev/kgen/app"
	"github.com/kgen-dev/kgen/app/harness"
	"github.com/kgen-dev/kgen/runtime"
)

// config stands for a project's generated kgen.Config.
type config struct{}

func (config) Runtime() runtime.Config {
	return runtime.Config{
		Workers:  1,
		Inbound:  []runtime.InboundConfig{{ID: "inbound", Name: runtime.KafkaConsumer}},
		Outbound: []runtime.OutboundConfig{{ID: "outbound", Name: runtime.KafkaProducer}},
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// A project's kgen/harness_gen.go holds a Harness like this one, for its
// own value types, codec, first inbound client and topic.
func ExampleHarness_RunMemory() {
	text := func(b []byte) (string, error) { return string(b), nil }
	bytes := func(s string) ([]byte, error) { return []byte(s), nil }
	h := harness.Harness[string, string, config]{
		Codec:  app.Codec[string, string]{DecodeIn: text, EncodeIn: bytes, DecodeOut: text, EncodeOut: bytes},
		Source: "inbound", Topic: "words",
		TestConfig: func() config { return config{} },
	}
	shout := func(_ context.Context, in app.Input[string, string]) ([]app.Output[string], error) {
		return in.Out(app.Output[string]{Key: in.Key, Value: strings.ToUpper(in.Value)}), nil
	}
	res, err := h.RunMemory(context.Background(), config{}, shout,
		app.Input[string, string]{Key: []byte("k"), Value: "hello"},
		app.Input[string, string]{Key: []byte("k"), Value: "world"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Outputs["outbound"] {
		fmt.Printf("%s=%s\n", o.Key, o.Value)
	}
	fmt.Println("committed", res.Committed)
	// Output:
	// k=HELLO
	// k=WORLD
	// committed map[words/0:2]
}
