package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/internal/kafkatest"
)

// TestTopicsAgainstBroker: list says what is missing (exit 1), create makes
// the inbound, outbound and dead-letter topics and is idempotent, read
// shows keys, headers and values.
func TestTopicsAgainstBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kafka broker")
	}
	addr := kafkatest.Broker(t)
	dir := t.TempDir()
	suffix := fmt.Sprintf("%d", os.Getpid())
	in, out, dlq := "topics-in-"+suffix, "topics-out-"+suffix, "topics-dlq-"+suffix
	t.Cleanup(func() {
		c := &kafka.Client{Addr: kafka.TCP(addr)}
		_, _ = c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{in, out, dlq}})
	})
	file := filepath.Join(dir, "settings.json")
	body := fmt.Sprintf(`{"num_of_workers": 2,
 "inbound_clients": [{"id": "in", "name": "kafka_consumer", "config": {"topics": [%q],
   "client_config": {"bootstrap_servers": %q, "group_id": "g-%s"}}}],
 "outbound_clients": [{"id": "out", "name": "kafka_producer", "config": {"topic": %q,
   "client_config": {"bootstrap_servers": %q}}}],
 "processing": {"on_failure": "dead_letter", "dead_letter_topic": %q}}`, in, addr, suffix, out, addr, dlq)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := kgenRun(t, dir, "topics", "list", file)
	if code != 1 || !strings.Contains(stdout, "missing "+in+" (inbound in)") || !strings.Contains(stdout, "missing "+dlq+" (dead letters)") ||
		!strings.Contains(stderr, "3 topic(s) missing: kgen topics create") {
		t.Fatalf("list before create: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = kgenRun(t, dir, "topics", "create", "--settings", file, "--partitions", "2", "--replication-factor", "1")
	for _, want := range []string{"created " + in + " (inbound in): 2 partition(s)", "created " + out + " (outbound out)", "created " + dlq + " (dead letters)"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("create: exit %d, want %q\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
		}
	}
	code, stdout, stderr = kgenRun(t, dir, "topics", "create", file)
	if code != 0 || strings.Contains(stdout, "created") || !strings.Contains(stdout, "exists  "+out) {
		t.Fatalf("second create: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	kafkatest.Produce(t, addr, dlq, []kafka.Message{{Partition: 1, Key: []byte("k1"), Value: []byte("bad \"json\""),
		Headers: []kafka.Header{{Key: "kgen.error", Value: []byte("decode: want object")}}}})
	code, stdout, stderr = kgenRun(t, dir, "topics", "read", file, "--topic", dlq)
	want := `partition=1 offset=0 `
	if code != 0 || !strings.Contains(stdout, want) || !strings.Contains(stdout, `key="k1" headers={"kgen.error": "decode: want object"} value="bad \"json\""`) ||
		!strings.Contains(stderr, "1 record(s) in "+dlq) {
		t.Fatalf("read: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = kgenRun(t, dir, "topics", "read", file, "--topic", "elsewhere")
	if code != 2 || !strings.Contains(stderr, `topic "elsewhere" is not named by`) {
		t.Fatalf("read of a topic the settings do not name: exit %d\nstderr:\n%s", code, stderr)
	}
}
