package producer

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	kp "github.com/kgen-dev/kgen/runtime/kafka/internal/kafkapython"
)

// TestDecode: the settings' config object of a kafka_producer maps onto
// Config with only what it says (kafka-python's bootstrap_servers and acks
// defaults aside), and its problems are reported at pointers relative to
// it, checked against the effective config.
func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		want  Config
		lines []string // prefixes of lines that must be reported
	}{
		{name: "mapped, no defaults",
			raw: `{"topic": "o", "future_timeout": "200", "close_timeout": 2,
				"client_config": {"bootstrap_servers": "b:1", "acks": "all", "retries": 2, "linger_ms": 0, "compression_type": "zstd"}}`,
			want: Config{Brokers: []string{"b:1"}, Topic: "o", Acks: -1, MaxAttempts: 3, Linger: time.Millisecond,
				Compression: "zstd", AckTimeout: 200 * time.Second, CloseTimeout: 2 * time.Second}},
		{name: "kafka-python's broker and acks",
			raw:   `{"topic": "o"}`,
			want:  Config{Brokers: []string{"localhost:9092"}, Topic: "o", Acks: 1},
			lines: []string{`W : bootstrap_servers is not set: outbound client "out" connects to localhost:9092`}},
		{name: "future_timeout below the default request timeout and linger",
			raw:   `{"topic": "o", "future_timeout": 5, "client_config": {"bootstrap_servers": "b:1"}}`,
			want:  Config{Brokers: []string{"b:1"}, Topic: "o", Acks: 1, AckTimeout: 5 * time.Second},
			lines: []string{"W /future_timeout: future_timeout 5s is shorter than request_timeout_ms + linger_ms (30.005s)"}},
		{name: "idempotence needs acks all",
			raw:   `{"topic": "o", "client_config": {"bootstrap_servers": "b:1", "enable_idempotence": true}}`,
			want:  Config{Brokers: []string{"b:1"}, Topic: "o", Acks: 1},
			lines: []string{"E /client_config/enable_idempotence: got true with acks 1"}},
		{name: "in-flight without idempotence has no effect",
			raw:   `{"topic": "o", "client_config": {"bootstrap_servers": "b:1", "acks": 1, "max_in_flight_requests_per_connection": 3}}`,
			want:  Config{Brokers: []string{"b:1"}, Topic: "o", Acks: 1, MaxInFlight: 3},
			lines: []string{"W /client_config/acks: acks 1 leaves the idempotent producer off", "N /client_config/max_in_flight_requests_per_connection: "}},
		{name: "security contradictions",
			raw:   `{"topic": "o", "client_config": {"bootstrap_servers": "b:1", "sasl_mechanism": "PLAIN", "ssl_certfile": "c"}}`,
			lines: []string{"W /client_config/sasl_mechanism: sasl_mechanism is ignored: security_protocol is PLAINTEXT", "E /client_config: ssl_certfile and ssl_keyfile go together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Config
			r := &kp.Recorder{ID: "out"}
			Client.Decode(json.RawMessage(tt.raw), &got, r)
			if tt.want.Topic != "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config %+v\nwant   %+v", got, tt.want)
			}
			for _, l := range tt.lines {
				if !r.Has(l) {
					t.Errorf("no line %q in %q", l, r.Lines)
				}
			}
			if len(tt.lines) == 0 && len(r.Lines) > 0 {
				t.Errorf("reported %q", r.Lines)
			}
		})
	}
}
