package runtime_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// A processor written by hand against the runtime, without kgen: consume a
// topic in a consumer group, upper-case each value, produce to another topic.
// Run returns after SIGINT/SIGTERM once in-flight work is drained, flushed and
// committed.
func ExampleRun() {
	cfg := runtime.Config{
		Workers: 8,
		Inbound: []runtime.InboundConfig{{
			ID: "articles", Name: runtime.KafkaConsumer, MaxRetries: 3,
			Config: &runtime.KafkaConsumerConfig{
				Brokers: []string{"127.0.0.1:9092"}, GroupID: "uppercase",
				Topics: []string{"articles"}, AutoOffsetReset: "earliest",
			},
		}},
		Outbound: []runtime.OutboundConfig{{
			ID: "out", Name: runtime.KafkaProducer,
			Config: &runtime.KafkaProducerConfig{
				Brokers: []string{"127.0.0.1:9092"}, Topic: "articles-upper",
				Acks: -1, Linger: 5 * time.Millisecond,
			},
		}},
		Failure:     runtime.FailurePolicy{OnFailure: runtime.DeadLetter, DeadLetterTopic: "articles-dlq"},
		MetricsAddr: "127.0.0.1:9464",
	}
	upper := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
		return []runtime.Output{{Key: r.Key, Value: bytes.ToUpper(r.Value), Headers: r.Headers}}, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runtime.Run(ctx, cfg, upper); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// RunInMemory drives the same engine without a broker: what would be
// written, dead-lettered and committed.
func ExampleRunInMemory() {
	recs := []runtime.Record{
		{Topic: "t", Partition: 0, Offset: 0, Key: []byte("a"), Value: []byte("hello")},
		{Topic: "t", Partition: 0, Offset: 1, Key: []byte("b"), Value: []byte("bad")},
		{Topic: "t", Partition: 0, Offset: 2, Key: []byte("a"), Value: []byte("world")},
	}
	cfg := runtime.Config{
		Workers: 2,
		Failure: runtime.FailurePolicy{OnFailure: runtime.DeadLetter, Backoff: time.Millisecond},
	}
	h := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
		if string(r.Value) == "bad" {
			return nil, fmt.Errorf("cannot process %q", r.Value)
		}
		return []runtime.Output{{Key: r.Key, Value: bytes.ToUpper(r.Value)}}, nil
	}
	res, err := runtime.RunInMemory(context.Background(), cfg, h, recs)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range res.Outputs["out"] {
		if string(m.Key) == "a" {
			fmt.Printf("%s=%s\n", m.Key, m.Value)
		}
	}
	fmt.Println("dead letters:", len(res.DeadLetters))
	fmt.Println("commit t/0 at:", res.Committed["t/0"])
	// Output:
	// a=HELLO
	// a=WORLD
	// dead letters: 1
	// commit t/0 at: 3
}
