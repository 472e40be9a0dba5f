package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// The cluster of scripts/kafka.sh cluster-up: three nodes, ids 1-3, on
// consecutive ports from KGEN_CLUSTER_PORT (19092).

func clusterBase() int {
	if p, err := strconv.Atoi(os.Getenv("KGEN_CLUSTER_PORT")); err == nil && p > 0 {
		return p
	}
	return 19092
}

// nodeAddr is node n's broker address (n is 1-3).
func nodeAddr(n int) string { return fmt.Sprintf("127.0.0.1:%d", clusterBase()+n-1) }

// bootstrap lists the three brokers, comma-separated, as a user writes it.
func bootstrap() string { return strings.Join(brokers(), ",") }

func brokers() []string { return []string{nodeAddr(1), nodeAddr(2), nodeAddr(3)} }

// kafkaSh runs scripts/kafka.sh with args and returns its combined output.
func kafkaSh(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot, "scripts", "kafka.sh")}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kafka.sh %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// node runs a node command of scripts/kafka.sh (kill, stop, start, freeze,
// thaw) on node n and fails the test when it fails.
func node(t *testing.T, op string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if _, err := kafkaSh(ctx, "node-"+op, strconv.Itoa(n)); err != nil {
		t.Fatalf("node %d %s: %v", n, op, err)
	}
	t.Logf("fault: node %d %s (%.1fs)", n, op, time.Since(start).Seconds())
}

// admin returns a client on a fresh transport: kafka-go's transport serves
// metadata from a cache, and these calls want the cluster's current view.
func admin() (*kafka.Client, func()) {
	tr := &kafka.Transport{DialTimeout: 3 * time.Second, MetadataTTL: 500 * time.Millisecond}
	return &kafka.Client{Addr: kafka.TCP(brokers()...), Timeout: 15 * time.Second, Transport: tr}, tr.CloseIdleConnections
}

// retry calls f until it succeeds or ctx ends; it returns f's last error.
func retry(ctx context.Context, what string, f func(ctx context.Context) error) error {
	var err error
	for {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = f(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (gave up: %v)", what, err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

var unsafeTopicChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// topicName is unique per call: the test's name and a random suffix.
func topicName(t *testing.T, role string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := strings.Trim(unsafeTopicChars.ReplaceAllString(t.Name(), "_"), "_")
	return fmt.Sprintf("chaos-%s-%s-%s", prefix, role, hex.EncodeToString(b))
}

// topicSpec describes a topic to create.
type topicSpec struct {
	partitions int
	// assign, when set, gives each partition's replicas (its first is the
	// preferred leader); the replication factor is then len(assign[i]).
	assign  [][]int
	configs map[string]string
}

// createTopic creates a topic (replication 3 unless spec.assign says
// otherwise), waits until every partition has a leader and a full ISR, and
// deletes it when the test ends.
func createTopic(ctx context.Context, t *testing.T, role string, spec topicSpec) string {
	t.Helper()
	name := topicName(t, role)
	tc := kafka.TopicConfig{Topic: name, NumPartitions: spec.partitions, ReplicationFactor: 3}
	if spec.assign != nil {
		tc.NumPartitions, tc.ReplicationFactor = -1, -1
		for p, rs := range spec.assign {
			tc.ReplicaAssignments = append(tc.ReplicaAssignments, kafka.ReplicaAssignment{Partition: p, Replicas: rs})
		}
	}
	for k, v := range spec.configs {
		tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	err := retry(ctx, "creating topic "+name, func(ctx context.Context) error {
		c, done := admin()
		defer done()
		res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
		if err == nil {
			err = res.Errors[name]
		}
		if errors.Is(err, kafka.TopicAlreadyExists) {
			return nil // a retry after a lost response
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = retry(ctx, "deleting topic "+name, func(ctx context.Context) error {
			c, done := admin()
			defer done()
			res, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
			if err == nil {
				err = res.Errors[name]
			}
			if errors.Is(err, kafka.UnknownTopicOrPartition) {
				return nil
			}
			return err
		})
	})
	if err := waitHealthy(ctx, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// metadata returns the current metadata of topics (all topics when none).
func metadata(ctx context.Context, topics ...string) (*kafka.MetadataResponse, error) {
	c, done := admin()
	defer done()
	return c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
}

// partitionsOf returns topic's partitions, sorted by id.
func partitionsOf(ctx context.Context, topic string) ([]kafka.Partition, error) {
	var ps []kafka.Partition
	err := retry(ctx, "metadata of "+topic, func(ctx context.Context) error {
		m, err := metadata(ctx, topic)
		if err != nil {
			return err
		}
		if len(m.Topics) != 1 || m.Topics[0].Error != nil {
			return fmt.Errorf("metadata of %s: %+v", topic, m.Topics)
		}
		ps = append([]kafka.Partition(nil), m.Topics[0].Partitions...)
		return nil
	})
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	return ps, err
}

// leaderOf returns the node id leading topic's partition.
func leaderOf(ctx context.Context, t *testing.T, topic string, partition int) int {
	t.Helper()
	ps, err := partitionsOf(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == partition && p.Leader.Host != "" {
			return p.Leader.ID
		}
	}
	t.Fatalf("%s/%d has no leader", topic, partition)
	return 0
}

// leaders describes who leads each partition of topic, for the log.
func leaders(ctx context.Context, topic string) string {
	ps, err := partitionsOf(ctx, topic)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%d:%d ", p.ID, p.Leader.ID)
	}
	return strings.TrimSpace(b.String())
}

// waitHealthy waits until the three brokers are in the metadata and every
// partition of topics and of __consumer_offsets has a leader and its whole
// replica set in sync: the cluster as a test found it.
func waitHealthy(ctx context.Context, topics ...string) error {
	var last string
	for {
		last = unhealthy(ctx, topics)
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %s (%v)", last, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func unhealthy(ctx context.Context, topics []string) string {
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := metadata(callCtx, append([]string{"__consumer_offsets"}, topics...)...)
	if err != nil {
		return err.Error()
	}
	if len(m.Brokers) != 3 {
		return fmt.Sprintf("%d brokers in the metadata", len(m.Brokers))
	}
	for _, tp := range m.Topics {
		if tp.Error != nil {
			if tp.Name == "__consumer_offsets" && errors.Is(tp.Error, kafka.UnknownTopicOrPartition) {
				continue // no group has committed yet
			}
			return fmt.Sprintf("%s: %v", tp.Name, tp.Error)
		}
		for _, p := range tp.Partitions {
			if p.Leader.Host == "" || len(p.Isr) != len(p.Replicas) {
				return fmt.Sprintf("%s/%d: leader %d, replicas %d, isr %d", tp.Name, p.ID, p.Leader.ID, len(p.Replicas), len(p.Isr))
			}
		}
	}
	return ""
}

// endOffsets returns topic's high watermarks per partition.
func endOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	ps, err := partitionsOf(ctx, topic)
	if err != nil {
		return nil, err
	}
	var reqs []kafka.OffsetRequest
	for _, p := range ps {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	out := map[int]int64{}
	err = retry(ctx, "end offsets of "+topic, func(ctx context.Context) error {
		c, done := admin()
		defer done()
		res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			return err
		}
		for _, po := range res.Topics[topic] {
			if po.Error != nil {
				return fmt.Errorf("%s/%d: %w", topic, po.Partition, po.Error)
			}
			out[po.Partition] = po.LastOffset
		}
		if len(out) != len(ps) {
			return fmt.Errorf("end offsets of %d of %d partitions", len(out), len(ps))
		}
		return nil
	})
	return out, err
}

// committed returns group's committed offsets on topic's partitions (-1:
// none).
func committed(ctx context.Context, group, topic string) (map[int]int64, error) {
	ps, err := partitionsOf(ctx, topic)
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	out := map[int]int64{}
	err = retry(ctx, "committed offsets of "+group, func(ctx context.Context) error {
		c, done := admin()
		defer done()
		res, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
		if err == nil {
			err = res.Error
		}
		if err != nil {
			return err
		}
		for _, p := range res.Topics[topic] {
			if p.Error != nil {
				return fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
			out[p.Partition] = p.CommittedOffset
		}
		return nil
	})
	return out, err
}

// lag describes where group's commits stand against topic's end; it is ""
// when the group has committed every partition up to its end.
func lag(ctx context.Context, group, topic string) (string, error) {
	end, err := endOffsets(ctx, topic)
	if err != nil {
		return "", err
	}
	com, err := committed(ctx, group, topic)
	if err != nil {
		return "", err
	}
	var parts []string
	ids := make([]int, 0, len(end))
	for p := range end {
		ids = append(ids, p)
	}
	sort.Ints(ids)
	for _, p := range ids {
		if c, ok := com[p]; !ok || c != end[p] {
			parts = append(parts, fmt.Sprintf("%d: committed %d of end %d", p, com[p], end[p]))
		}
	}
	return strings.Join(parts, ", "), nil
}

// coordinatorOf returns the node id of group's coordinator.
func coordinatorOf(ctx context.Context, group string) (int, error) {
	var id int
	err := retry(ctx, "coordinator of "+group, func(ctx context.Context) error {
		c, done := admin()
		defer done()
		res, err := c.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: group, KeyType: kafka.CoordinatorKeyTypeConsumer})
		if err == nil {
			err = res.Error
		}
		if err == nil {
			id = res.Coordinator.NodeID
		}
		return err
	})
	return id, err
}

// readTopic reads every record of topic, each partition from its start to
// the end it had when the read began.
func readTopic(ctx context.Context, topic string) ([]Record, error) {
	end, err := endOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		all  []Record
		errs []error
		wg   sync.WaitGroup
	)
	for p, hw := range end {
		if hw == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, err := readPartition(ctx, topic, p, hw)
			mu.Lock()
			defer mu.Unlock()
			all = append(all, recs...)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return sortByLog(all), errors.Join(errs...)
}

func readPartition(ctx context.Context, topic string, partition int, end int64) ([]Record, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   brokers(),
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  10 << 20,
		MaxWait:   200 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return nil, err
	}
	var out []Record
	last := int64(-1)
	for last+1 < end {
		readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := r.ReadMessage(readCtx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && len(out) > 0 {
				// Idle: only transaction markers remain before end.
				return out, nil
			}
			return out, fmt.Errorf("reading %s/%d at offset %d of %d: %w", topic, partition, last+1, end, err)
		}
		last = m.Offset
		out = append(out, Record{Partition: partition, Offset: m.Offset, Key: m.Key, Value: m.Value})
	}
	return out, nil
}

// groupState returns group's state as its coordinator describes it ("" when
// it cannot be read).
func groupState(ctx context.Context, group string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, done := admin()
	defer done()
	res, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil || len(res.Groups) != 1 || res.Groups[0].Error != nil {
		return ""
	}
	return res.Groups[0].GroupState
}
