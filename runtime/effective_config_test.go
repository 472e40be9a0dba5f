package runtime_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/settings"
)

// TestSeedEffectiveConfigMatchesREADME: the configuration a project
// generated from the seed's sample settings runs with (the settings'
// values, then the runtime's defaults, as Run applies them through the
// clients' descriptors) is the table the README documents between its effective-config
// markers. Change a default, and the README must say so
// (KGEN_UPDATE_README=1 rewrites the table).
func TestSeedEffectiveConfigMatchesREADME(t *testing.T) {
	s, diags := settings.Load("../testdata/golden/seed_kafka/settings.json")
	if s == nil {
		t.Fatalf("seed settings: %v", diags)
	}
	cfg := s.Runtime.Defaults()
	in := *clientDefaults(t, cfg.Inbound[0].Name, cfg.Inbound[0].Config).(*runtime.KafkaConsumerConfig)
	out := *clientDefaults(t, cfg.Outbound[0].Name, cfg.Outbound[0].Config).(*runtime.KafkaProducerConfig)
	idempotent := out.Acks == -1 && !out.DisableIdempotence
	inFlight := 1
	if idempotent {
		inFlight = min(out.MaxInFlight, 5)
	}
	attempts := "until the delivery deadline"
	if out.MaxAttempts > 0 {
		attempts = fmt.Sprint(out.MaxAttempts)
	}
	got := [][2]string{
		{"workers", fmt.Sprint(cfg.Workers)},
		{"failure policy", fmt.Sprintf("%s after %d retries (backoff %s doubling to %s)", cfg.Failure.OnFailure,
			cfg.Inbound[0].MaxRetries, cfg.Failure.Backoff, cfg.Failure.MaxBackoff)},
		{"in-flight budget", fmt.Sprintf("%d records, %d MiB", cfg.Flow.MaxInFlightRecords, cfg.Flow.MaxInFlightBytes>>20)},
		{"consumer: auto_offset_reset", in.AutoOffsetReset},
		{"consumer: session / heartbeat / rebalance timeout", fmt.Sprintf("%s / %s / %s", in.SessionTimeout, in.HeartbeatInterval, in.RebalanceTimeout)},
		{"consumer: fetch min bytes / max bytes per partition / max wait", fmt.Sprintf("%d / %d / %s", in.MinBytes, in.MaxBytes, in.MaxWait)},
		{"consumer: commit interval", in.CommitInterval.String()},
		{"consumer: isolation level", orDefault(in.IsolationLevel, "read_uncommitted")},
		{"consumer: partition watch interval", in.PartitionWatchInterval.String()},
		{"producer: acks", fmt.Sprint(out.Acks)},
		{"producer: idempotent", fmt.Sprint(idempotent)},
		{"producer: requests in flight per partition", fmt.Sprint(inFlight)},
		{"producer: batch_size (bytes; grows to max_request_size while the partition cannot send)", fmt.Sprint(out.BatchBytes)},
		{"producer: max_request_size", fmt.Sprint(out.MaxRequestSize)},
		{"producer: linger", out.Linger.String()},
		{"producer: delivery deadline (future_timeout)", out.AckTimeout.String()},
		{"producer: request timeout", out.RequestTimeout.String()},
		{"producer: attempts per batch", attempts},
		{"producer: compression", orDefault(out.Compression, "none")},
		{"producer: partitioner", out.Partitioner},
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- effective-config:begin -->", "<!-- effective-config:end -->"
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %s ... %s table", begin, end)
	}
	var want strings.Builder
	want.WriteString("\n| setting | value |\n| --- | --- |\n")
	for _, kv := range got {
		fmt.Fprintf(&want, "| %s | %s |\n", kv[0], kv[1])
	}
	if os.Getenv("KGEN_UPDATE_README") == "1" {
		text = text[:i+len(begin)] + want.String() + text[j:]
		if err := os.WriteFile("../README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if have := text[i+len(begin) : j]; have != want.String() {
		t.Errorf("README.md's effective configuration of the seed's settings is out of date; between the markers it should read:\n%s", want.String())
	}
}

// clientDefaults is cfg with the defaults of the client registered as
// name, as Run applies them.
func clientDefaults(t *testing.T, name string, cfg any) any {
	t.Helper()
	c, ok := runtime.Lookup(name)
	if !ok || c.Defaults == nil {
		t.Fatalf("client %q: not registered or without defaults", name)
	}
	return c.Defaults(cfg)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
