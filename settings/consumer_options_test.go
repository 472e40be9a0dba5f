package settings

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// TestConsumerOptions: the consumer options and config keys the runtime
// honours reach its configuration; those it cannot honour are accepted
// with a warning that says why (what kgen vet prints).
func TestConsumerOptions(t *testing.T) {
	tests := []struct {
		name       string
		config     string // extra keys of inbound config
		client     string // extra keys of client_config
		check      func(k *runtime.KafkaConsumerConfig) bool
		warn       string // a warning that must appear ("" none about these keys)
		warnAbsent string // text no warning may contain
	}{
		{name: "check_crcs false", client: `"check_crcs": false`,
			check: func(k *runtime.KafkaConsumerConfig) bool { return k.SkipCRCCheck }, warnAbsent: "check_crcs"},
		{name: "check_crcs true", client: `"check_crcs": true`,
			check: func(k *runtime.KafkaConsumerConfig) bool { return !k.SkipCRCCheck }, warnAbsent: "check_crcs"},
		{name: "metadata_max_age_ms", client: `"metadata_max_age_ms": 2000`,
			check:      func(k *runtime.KafkaConsumerConfig) bool { return k.PartitionWatchInterval == 2*time.Second },
			warnAbsent: "metadata_max_age_ms"},
		{name: "retry_backoff_ms", client: `"retry_backoff_ms": 250`,
			check: func(k *runtime.KafkaConsumerConfig) bool { return k.RetryBackoff == 250*time.Millisecond }, warnAbsent: "retry_backoff_ms"},
		{name: "read_committed", client: `"isolation_level": "read_committed"`,
			check: func(k *runtime.KafkaConsumerConfig) bool { return k.IsolationLevel == "read_committed" }, warnAbsent: "read_committed"},
		{name: "max_records explained", config: `"max_records": 1`,
			check: func(*runtime.KafkaConsumerConfig) bool { return true }, warn: "max_records has no effect: kgen has no poll loop"},
		{name: "max_poll_records explained", client: `"max_poll_records": 10`,
			check: func(*runtime.KafkaConsumerConfig) bool { return true }, warn: "max_poll_records has no effect: kgen has no poll loop"},
		{name: "poll_timeout and close_timeout", config: `"poll_timeout": 3, "close_timeout": 4`,
			check: func(k *runtime.KafkaConsumerConfig) bool {
				return k.PollTimeout == 3*time.Second && k.CloseTimeout == 4*time.Second
			}, warnAbsent: "timeout"},
		{name: "enable_listener explained", config: `"enable_listener": true`,
			check: func(*runtime.KafkaConsumerConfig) bool { return true }, warn: "enable_listener has no effect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config, client := tt.config, tt.client
			if config != "" {
				config = ", " + config
			}
			if client != "" {
				client = ", " + client
			}
			doc := fmt.Sprintf(`{"inbound_client_settings": {"name": "kafka_consumer", "config": {"topics": ["a"], "max_retries": 2%s,
				"client_config": {"group_id": "g"%s}}},
				"outbound_client_settings": {"name": "kafka_producer", "config": {"topic": "b"}}}`, config, client)
			s, diags := Parse("s.json", []byte(doc), nil)
			if s == nil {
				t.Fatalf("refused:\n%s", formatAll(diags))
			}
			in := s.Runtime.Inbound[0]
			if in.MaxRetries != 2 {
				t.Errorf("max_retries %d, want 2", in.MaxRetries)
			}
			if !tt.check(kafkaIn(in)) {
				t.Errorf("consumer config %+v", *kafkaIn(in))
			}
			text := formatAll(diags)
			if tt.warn != "" && !strings.Contains(text, tt.warn) {
				t.Errorf("diagnostics lack %q:\n%s", tt.warn, text)
			}
			if tt.warnAbsent != "" && strings.Contains(text, tt.warnAbsent) {
				t.Errorf("diagnostics mention %q:\n%s", tt.warnAbsent, text)
			}
		})
	}
}
