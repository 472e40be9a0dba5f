package runtime_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kgen-dev/kgen/internal/kafkatest"
	"github.com/kgen-dev/kgen/runtime"
)

// TestKafkaOutboundFailureKeepsKeyOrder: the output topic does not exist
// when the processor starts, so the broker refuses every write
// (UNKNOWN_TOPIC_OR_PARTITION, transient) until the test creates it. The
// producer gives each batch up after its attempts, the engine sends the
// outputs again after its backoff, again and again. Nothing may be
// committed meanwhile; once the topic exists everything lands, and the
// output, read from the broker, holds every record once, each key's
// records in input order, with Process run once per record: an output
// that failed to send is sent again, not recomputed, and no later record
// of its key overtakes it.
func TestKafkaOutboundFailureKeepsKeyOrder(t *testing.T) {
	addr := kafkatest.Broker(t)
	in := kafkatest.Topic(t, addr, 2)
	out := in + "-late"
	group := "g-" + in
	cfg := kafkaConfig(addr, group, []string{in}, out, 4, testLogger(t))
	pc := cfg.Outbound[0].Config.(*runtime.KafkaProducerConfig)
	pc.AckTimeout, pc.RequestTimeout, pc.MaxAttempts = 2*time.Second, time.Second, 2
	cfg.Failure.MaxBackoff = 500 * time.Millisecond
	cfg.MetricsAddr = freeAddr(t)

	var mu sync.Mutex
	calls := map[string]int{}
	h := func(ctx context.Context, r *runtime.Record) ([]runtime.Output, error) {
		mu.Lock()
		calls[string(r.Value)]++
		mu.Unlock()
		return passthrough(ctx, r)
	}
	sent := keyedMessages(2000, 20, "")
	kafkatest.Produce(t, addr, in, sent)
	stop := runInProcess(t, cfg, h)
	defer stop()

	// Writes fail, and are sent again, while the topic is missing.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, scrape := httpGet(t, "http://"+cfg.MetricsAddr+"/metrics")
		if v, _ := metricValue(scrape, "kgen_records_retried_total"); v >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no outbound failure seen within 60s of writing to missing topic %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c := committedTotal(t, addr, group, in); c > 0 {
		t.Fatalf("committed %d offsets while no output could be written", c)
	}
	createTopic(t, addr, out, 2)
	waitCommitted(t, addr, group, in, len(sent), 120*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := readEverything(t, addr, out)
	if len(got) != len(sent) {
		t.Errorf("%d outputs, want %d (each record once)", len(got), len(sent))
	}
	verifyStrict(t, sent, got)
	mu.Lock()
	defer mu.Unlock()
	for _, m := range sent {
		if n := calls[string(m.Value)]; n != 1 {
			t.Fatalf("Process ran %d times for %s, want 1", n, m.Value)
		}
	}
}

// verifyStrict checks every output, not only first occurrences: per key,
// values ("key:seq") strictly increase in the log (no record lost, none
// out of order, none twice).
func verifyStrict(t *testing.T, sent, got []kafka.Message) {
	t.Helper()
	want := map[string][]string{}
	for _, m := range sent {
		want[string(m.Key)] = append(want[string(m.Key)], string(m.Value))
	}
	have := map[string][]string{}
	for _, m := range got { // by partition, offset; a key lives in one partition
		have[string(m.Key)] = append(have[string(m.Key)], string(m.Value))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h, w := have[k], want[k]
		for i := range max(len(h), len(w)) {
			switch {
			case i >= len(h):
				t.Fatalf("key %s: %d outputs, want %d", k, len(h), len(w))
			case i >= len(w):
				t.Fatalf("key %s: %d outputs, want %d (%s written again)", k, len(h), len(w), h[i])
			case h[i] != w[i]:
				t.Fatalf("key %s: output %d is %s, want %s (outputs from there: %v)", k, i, h[i], w[i], h[i:min(len(h), i+8)])
			}
		}
	}
}

// createTopic creates topic (replication 1), waits until its partitions
// have leaders, and deletes it when the test ends.
func createTopic(t *testing.T, addr, topic string, partitions int) {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
	t.Cleanup(func() {
		tr := &kafka.Transport{}
		defer tr.CloseIdleConnections()
		client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second, Transport: tr}
		_, _ = client.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	})
	for {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(meta.Topics) == 1 && meta.Topics[0].Error == nil {
			n := 0
			for _, p := range meta.Topics[0].Partitions {
				if p.Error == nil && p.Leader.Host != "" {
					n++
				}
			}
			if n == partitions {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s: partitions without a leader after 30s (last error: %v)", topic, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
