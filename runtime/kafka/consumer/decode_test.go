package consumer

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	kp "github.com/kgen-dev/kgen/runtime/kafka/internal/kafkapython"
)

// TestDecode: the settings' config object of a kafka_consumer maps onto
// Config with only what it says (kafka-python's bootstrap_servers default
// aside), and its problems are reported at pointers relative to it.
func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		want  Config
		lines []string // prefixes of lines that must be reported
	}{
		{name: "mapped, no defaults",
			raw: `{"topics": ["a"], "max_retries": 2, "poll_timeout": "3", "commit_interval_ms": 250,
				"client_config": {"bootstrap_servers": "b1,b2:9093", "group_id": "g", "fetch_max_wait_ms": 100,
				"max_partition_fetch_bytes": 2048, "isolation_level": "read_committed"}}`,
			want: Config{Brokers: []string{"b1:9092", "b2:9093"}, GroupID: "g", Topics: []string{"a"},
				MaxWait: 100 * time.Millisecond, MaxBytes: 2048, IsolationLevel: "read_committed",
				PollTimeout: 3 * time.Second, CommitInterval: 250 * time.Millisecond}},
		{name: "kafka-python's broker, said so",
			raw:   `{"topics": ["a"], "client_config": {"group_id": "g"}}`,
			want:  Config{Brokers: []string{"localhost:9092"}, GroupID: "g", Topics: []string{"a"}},
			lines: []string{`W /client_config: bootstrap_servers is not set: inbound client "in" connects to localhost:9092`}},
		{name: "no effect, grouped",
			raw:   `{"topics": ["a"], "max_records": 1, "client_config": {"bootstrap_servers": "b:1", "group_id": "g", "fetch_max_bytes": 1}}`,
			want:  Config{Brokers: []string{"b:1"}, GroupID: "g", Topics: []string{"a"}},
			lines: []string{"N /max_records: max_records: ", "N /client_config/fetch_max_bytes: fetch_max_bytes: "}},
		{name: "heartbeat against the default session timeout",
			raw:   `{"topics": ["a"], "client_config": {"bootstrap_servers": "b:1", "group_id": "g", "heartbeat_interval_ms": 10000}}`,
			want:  Config{Brokers: []string{"b:1"}, GroupID: "g", Topics: []string{"a"}, HeartbeatInterval: 10 * time.Second},
			lines: []string{"E /client_config/heartbeat_interval_ms: heartbeat_interval_ms (10000) must be below session_timeout_ms (10000)"}},
		{name: "topics need a group",
			raw:   `{"topics": ["a"], "client_config": {"bootstrap_servers": "b:1"}}`,
			want:  Config{Brokers: []string{"b:1"}, Topics: []string{"a"}},
			lines: []string{"E /topics: consuming topics needs a consumer group"}},
		{name: "partitions",
			raw:   `{"partitions": [{"topic": "a", "partition": 1, "offset": 7}, {"topic": "a", "partition": 1}], "client_config": {"bootstrap_servers": "b:1"}}`,
			want:  Config{Brokers: []string{"b:1"}, Assignments: []PartitionAssignment{{Topic: "a", Partition: 1, Offset: ptrTo(int64(7))}}},
			lines: []string{`E /partitions/1: partition 1 of "a" is already assigned at index 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Config
			r := &kp.Recorder{ID: "in"}
			Client.Decode(json.RawMessage(tt.raw), &got, r)
			if !reflect.DeepEqual(got, tt.want) {
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

func ptrTo[T any](v T) *T { return &v }
