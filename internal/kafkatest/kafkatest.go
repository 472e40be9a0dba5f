// Package kafkatest is the harness for tests that need a real Kafka broker.
//
// A test asks for the broker, makes its own topic, and uses the helpers:
//
//	addr := kafkatest.Broker(t)             // starts one via scripts/kafka.sh if needed
//	topic := kafkatest.Topic(t, addr, 3)    // unique, deleted when the test ends
//	kafkatest.Produce(t, addr, topic, msgs) // synchronous, acks=all
//	got := kafkatest.ReadAll(t, addr, topic, len(msgs), 30*time.Second)
//	offs := kafkatest.CommittedOffsets(t, addr, "my-group", topic)
//
// The broker address is KGEN_KAFKA_ADDR, or 127.0.0.1:9092. When nothing
// answers there, Broker runs `scripts/kafka.sh up` once per test process. If
// there is still no broker, the test is skipped, unless CI=true or
// KGEN_REQUIRE_KAFKA=1, where it fails: CI must never pass by skipping.
//
// With -short (make test-unit) Broker skips the test without looking for a
// broker: unit tests never need one.
//
// The broker is left running after the tests (the next run reuses it); stop
// it with `scripts/kafka.sh down` (make kafka-down).
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// Every helper uses its own kafka.Transport and closes its connections
// before returning, so tests can check that no goroutine outlives them.

// DefaultAddr is the broker address when KGEN_KAFKA_ADDR is not set; it is
// where scripts/kafka.sh starts the broker by default.
const DefaultAddr = "127.0.0.1:9092"

// opTimeout bounds each admin round trip (create, delete, metadata).
const opTimeout = 30 * time.Second

var (
	startOnce sync.Once
	startErr  error // why starting the broker failed, if it did
)

// Broker returns the address of a reachable broker, starting a local one if
// needed (see the package doc). It fails or skips the test when it cannot.
func Broker(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		// make test-unit: unit tests only, never a broker (not even one
		// started for the test); make test runs these without -short.
		t.Skip("needs a Kafka broker: not run with -short (make test-unit); make test runs it")
	}
	addr := os.Getenv("KGEN_KAFKA_ADDR")
	if addr == "" {
		addr = DefaultAddr
	}
	if err := ping(addr); err == nil {
		return addr
	}
	startOnce.Do(func() {
		var out string
		out, startErr = startBroker(addr)
		if out != "" { // shown once, in the test that started the broker
			t.Logf("scripts/kafka.sh up:\n%s", out)
		}
	})
	err := ping(addr)
	if err == nil {
		return addr
	}
	if startErr != nil {
		err = fmt.Errorf("%v; starting one failed: %v", err, startErr)
	}
	msg := fmt.Sprintf("no Kafka broker at %s: %v (start one with `make kafka-up`, or set KGEN_KAFKA_ADDR)", addr, err)
	if os.Getenv("CI") == "true" || os.Getenv("KGEN_REQUIRE_KAFKA") == "1" {
		t.Fatalf("%s [CI=true or KGEN_REQUIRE_KAFKA=1: a missing broker is a failure]", msg)
	}
	t.Skipf("%s [skipping; CI=true or KGEN_REQUIRE_KAFKA=1 make this a failure]", msg)
	return ""
}

// ping makes one metadata round trip to addr.
func ping(addr string) error {
	conn, err := kafka.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, err = conn.Brokers()
	return err
}

// startBroker runs scripts/kafka.sh up for addr's port. It only starts
// brokers on loopback addresses: a remote KGEN_KAFKA_ADDR is never "fixed".
func startBroker(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("%s is not a loopback address; not starting a broker", addr)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	// kafka.sh waits up to 90 s for readiness, plus a one-time jar download.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "kafka.sh"), "up")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KAFKA_PORT="+port)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// repoRoot walks up from the working directory to the dir holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var unsafeTopicChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Topic creates a topic with the given number of partitions (replication 1)
// named after the test plus a random suffix, waits until every partition has
// a leader, and deletes it when the test ends. It returns the name.
func Topic(t testing.TB, addr string, partitions int) string {
	t.Helper()
	// '.' is left out on purpose: Kafka warns about topics differing only
	// in '.' vs '_' (they collide in metric names).
	prefix := strings.Trim(unsafeTopicChars.ReplaceAllString(t.Name(), "_"), "_")
	if len(prefix) > 200 { // topic names are limited to 249 chars
		prefix = prefix[:200]
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := prefix + "-" + hex.EncodeToString(suffix)

	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: opTimeout, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err == nil {
		err = res.Errors[name]
	}
	if err != nil {
		t.Fatalf("kafkatest: creating topic %s: %v", name, err)
	}
	t.Cleanup(func() {
		tr := &kafka.Transport{}
		defer tr.CloseIdleConnections()
		client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: opTimeout, Transport: tr}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		res, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
		if err == nil {
			err = res.Errors[name]
		}
		if err != nil {
			t.Logf("kafkatest: deleting topic %s: %v", name, err)
		}
	})

	// Producing before the partitions have leaders fails with
	// UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER, so wait for them.
	for {
		n, err := partitionsWithLeader(ctx, client, name)
		if err == nil && n == partitions {
			return name
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kafkatest: topic %s: %d of %d partitions have a leader after %s (last error: %v)",
				name, n, partitions, opTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// partitionsWithLeader counts topic's partitions that have a leader.
func partitionsWithLeader(ctx context.Context, client *kafka.Client, topic string) (int, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, err
	}
	if len(meta.Topics) != 1 {
		return 0, fmt.Errorf("metadata returned %d topics", len(meta.Topics))
	}
	if err := meta.Topics[0].Error; err != nil {
		return 0, err
	}
	n := 0
	for _, p := range meta.Topics[0].Partitions {
		// kafka-go maps leader -1 (none) to a zero Broker: check the host.
		if p.Error == nil && p.Leader.Host != "" {
			n++
		}
	}
	return n, nil
}

// partitionIDs returns topic's partition ids, sorted.
func partitionIDs(t testing.TB, addr, topic string) []int {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: opTimeout, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err == nil && len(meta.Topics) == 1 {
		err = meta.Topics[0].Error
	}
	if err != nil {
		t.Fatalf("kafkatest: metadata for topic %s: %v", topic, err)
	}
	var ids []int
	for _, p := range meta.Topics[0].Partitions {
		ids = append(ids, p.ID)
	}
	sort.Ints(ids)
	return ids
}

// Produce writes msgs to topic synchronously (acks=all) and fails the test
// on error. msg.Topic is ignored.
//
// Routing: kafka-go's Writer ignores Message.Partition, so Produce picks a
// balancer. If every message has Partition 0 (the zero value), messages are
// spread by key hash (kafka.Hash; keyless ones round-robin): the same key
// always lands on the same partition. If any message sets a non-zero
// Partition, every message goes to exactly its Partition field, so to aim at
// partition 0 among others just leave it 0 there. Partitions the topic does
// not have fail the test.
func Produce(t testing.TB, addr, topic string, msgs []kafka.Message) {
	t.Helper()
	if len(msgs) == 0 {
		return
	}
	out := make([]kafka.Message, len(msgs))
	var balancer kafka.Balancer = &kafka.Hash{}
	explicit := false
	for i, m := range msgs {
		m.Topic = "" // the Writer's Topic is set; kafka-go rejects both
		out[i] = m
		explicit = explicit || m.Partition != 0
	}
	if explicit {
		ids := partitionIDs(t, addr, topic)
		for i, m := range out {
			if idx := sort.SearchInts(ids, m.Partition); idx == len(ids) || ids[idx] != m.Partition {
				t.Fatalf("kafkatest: message %d targets partition %d, topic %s has %d partitions",
					i, m.Partition, topic, len(ids))
			}
		}
		balancer = explicitBalancer{}
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Transport:    tr,
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     balancer,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    len(out), // one call, as few round trips as possible
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.WriteMessages(ctx, out...); err != nil {
		t.Fatalf("kafkatest: producing %d messages to %s: %v", len(out), topic, err)
	}
}

// explicitBalancer sends each message to its own Partition field.
type explicitBalancer struct{}

func (explicitBalancer) Balance(msg kafka.Message, _ ...int) int { return msg.Partition }

// ReadAll reads every partition of topic from its first offset until at
// least want messages were read in total or timeout passes. It returns the
// messages sorted by (partition, offset), so each partition's order is the
// log's. On timeout it logs and returns what it has, for the test to report
// the counts; other errors fail the test. Messages that arrive after want was
// reached are not waited for.
func ReadAll(t testing.TB, addr, topic string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	ids := partitionIDs(t, addr, topic)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var (
		mu      sync.Mutex
		got     []kafka.Message
		readErr error
		wg      sync.WaitGroup
	)
	for _, p := range ids {
		// One group-less reader per partition: no coordinator, no commits.
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   []string{addr},
			Topic:     topic,
			Partition: p,
			MinBytes:  1,
			MaxBytes:  10 << 20,
			MaxWait:   100 * time.Millisecond,
		})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			t.Fatalf("kafkatest: reader for %s/%d: %v", topic, p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				mu.Lock()
				if err != nil {
					if ctx.Err() == nil && readErr == nil {
						readErr = fmt.Errorf("partition %d: %w", p, err)
						cancel()
					}
					mu.Unlock()
					return
				}
				got = append(got, m)
				if len(got) >= want {
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if readErr != nil {
		t.Fatalf("kafkatest: reading %s: %v", topic, readErr)
	}
	if len(got) < want {
		t.Logf("kafkatest: ReadAll(%s): timed out after %s with %d of %d messages", topic, timeout, len(got), want)
	}
	sort.SliceStable(got, func(i, j int) bool {
		if got[i].Partition != got[j].Partition {
			return got[i].Partition < got[j].Partition
		}
		return got[i].Offset < got[j].Offset
	})
	return got
}

// CommittedOffsets returns group's committed offset for every partition of
// topic: the next offset the group will read, or -1 where it has committed
// nothing (also for a group that does not exist).
func CommittedOffsets(t testing.TB, addr, group, topic string) map[int]int64 {
	t.Helper()
	ids := partitionIDs(t, addr, topic)
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: opTimeout, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for {
		res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{
			GroupID: group,
			Topics:  map[string][]int{topic: ids},
		})
		if err == nil {
			err = res.Error
		}
		// The group coordinator (and __consumer_offsets) may still be
		// loading right after the broker starts: retry what is retriable.
		if err != nil && isRetriable(err) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("kafkatest: fetching offsets of group %s on %s: %v", group, topic, err)
		}
		offsets := make(map[int]int64, len(ids))
		for _, p := range ids {
			offsets[p] = -1
		}
		for _, p := range res.Topics[topic] {
			if p.Error != nil {
				t.Fatalf("kafkatest: offset of group %s on %s/%d: %v", group, topic, p.Partition, p.Error)
			}
			offsets[p.Partition] = p.CommittedOffset
		}
		return offsets
	}
}

func isRetriable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	return false
}
