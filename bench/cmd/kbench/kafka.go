package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// broker wraps the admin client the harness uses for topics, groups,
// offsets and quotas.
type broker struct {
	addrs []string
	cl    *kgo.Client
	adm   *kadm.Client
}

func newBroker(addrs []string) (*broker, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return nil, err
	}
	return &broker{addrs: addrs, cl: cl, adm: kadm.NewClient(cl)}, nil
}

func (b *broker) close() { b.cl.Close() }

// version guesses the broker's Kafka version from its API versions.
func (b *broker) version(ctx context.Context) string {
	vs, err := b.adm.ApiVersions(ctx)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	out := "unknown"
	vs.Each(func(v kadm.BrokerApiVersions) {
		if v.Err == nil {
			out = v.VersionGuess()
		}
	})
	return out
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// createTopic makes a topic and waits until every partition has a leader.
func (b *broker) createTopic(ctx context.Context, name string, partitions int) error {
	res, err := b.adm.CreateTopics(ctx, int32(partitions), 1, nil, name)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := b.adm.ListTopics(ctx, name)
		if err == nil {
			if td, ok := md[name]; ok && td.Err == nil && len(td.Partitions) == partitions {
				ready := true
				for _, p := range td.Partitions {
					ready = ready && p.Err == nil && p.Leader >= 0
				}
				if ready {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s: partitions without a leader after 30s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *broker) deleteTopics(names ...string) {
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = b.adm.DeleteTopics(ctx, names...)
}

func (b *broker) deleteGroup(group string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = b.adm.DeleteGroups(ctx, group)
}

// endOffsets sums the end offsets of a topic's partitions: the records in
// a fresh topic written without transactions.
func (b *broker) endOffsets(ctx context.Context, topic string) (int64, error) {
	offs, err := b.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := offs.Error(); err != nil {
		return 0, err
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, nil
}

// setProducerQuota sets (rate > 0) or removes (rate 0) the broker's
// default per-client-id producer byte rate: the slow sink of W6.
func (b *broker) setProducerQuota(ctx context.Context, rate float64) error {
	op := kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: math.Round(rate)} // a long
	if rate <= 0 {
		op.Remove = true
	}
	res, err := b.adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: kadm.ClientQuotaEntity{{Type: "client-id"}},
		Ops:    []kadm.AlterClientQuotaOp{op},
	}})
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// key returns one of keys keys for record i, spread so that neighbours
// differ.
func key(i, keys int) []byte {
	return []byte("k" + strconv.Itoa((i*7919)%keys))
}

// value returns a printable value of size bytes (no newline: the file
// workload writes one value per line).
func value(size int) []byte {
	v := make([]byte, size)
	_, _ = rand.Read(v)
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	for i := range v {
		v[i] = alphabet[v[i]&63]
	}
	return v
}

// preload fills topic with n records of size bytes over keys keys, as fast
// as franz-go goes (acks all).
func preload(ctx context.Context, addrs []string, topic string, n, size, keys int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(200_000),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	vals := make([][]byte, 64)
	for i := range vals {
		vals[i] = value(size)
	}
	var (
		once     sync.Once
		firstErr error
	)
	for i := 0; i < n; i++ {
		r := &kgo.Record{Key: key(i, keys), Value: vals[i%len(vals)]}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				once.Do(func() { firstErr = err })
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	return firstErr
}

// latencyProbe sends records at a fixed rate into in, each stamped with its
// send time in the header "ts", and reads out, computing each record's
// end-to-end latency.
type latencyProbe struct {
	addrs   []string
	in, out string
	size    int
}

const tsHeader = "ts"

// run sends for d at rate after warming up, and returns the latencies of
// the timed records. It gives up when exited closes (the contender died).
func (lp *latencyProbe) run(ctx context.Context, rate float64, d time.Duration, exited <-chan struct{}) (lat []time.Duration, err error) {
	prod, err := kgo.NewClient(kgo.SeedBrokers(lp.addrs...), kgo.DefaultProduceTopic(lp.in),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	cons, err := kgo.NewClient(kgo.SeedBrokers(lp.addrs...), kgo.ConsumeTopics(lp.out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cons.Close()

	val := value(lp.size)
	var (
		mu      sync.Mutex
		seen    int
		timed   []time.Duration
		warmed  = make(chan struct{})
		warmOne sync.Once
	)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for cctx.Err() == nil {
			fs := cons.PollFetches(cctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == tsHeader && len(h.Value) == 8 {
						sent := int64(binary.BigEndian.Uint64(h.Value))
						mu.Lock()
						timed = append(timed, now.Sub(time.Unix(0, sent)))
						seen++
						mu.Unlock()
						return
					}
				}
				warmOne.Do(func() { close(warmed) })
			})
		}
	}()

	// Warm-up: one untimed record every 100ms until one comes out, so the
	// contender is assigned and running before the timed phase.
	warmDeadline := time.After(90 * time.Second)
warm:
	for i := 0; ; i++ {
		prod.Produce(ctx, &kgo.Record{Key: key(i, 10_000), Value: val}, nil)
		select {
		case <-warmed:
			break warm
		case <-warmDeadline:
			return nil, fmt.Errorf("latency: no output within 90s of warm-up")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-exited:
			return nil, fmt.Errorf("latency: contender exited during warm-up")
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Timed phase: paced in 2ms ticks.
	total := int(rate * d.Seconds())
	start := time.Now()
	sent := 0
	for sent < total && ctx.Err() == nil {
		due := int(rate * time.Since(start).Seconds())
		if due > total {
			due = total
		}
		for ; sent < due; sent++ {
			ts := make([]byte, 8)
			binary.BigEndian.PutUint64(ts, uint64(time.Now().UnixNano()))
			prod.Produce(ctx, &kgo.Record{Key: key(sent, 10_000), Value: val,
				Headers: []kgo.RecordHeader{{Key: tsHeader, Value: ts}}}, nil)
		}
		time.Sleep(2 * time.Millisecond)
	}
	_ = prod.Flush(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := seen
		mu.Unlock()
		if n >= total {
			break
		}
		exit := false
		select {
		case <-exited:
			exit = true
		default:
		}
		if exit || ctx.Err() != nil || time.Now().After(deadline) {
			cancel()
			wg.Wait()
			return timed, fmt.Errorf("latency: %d of %d timed records came out (contender exited: %v)", n, total, exit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return timed, nil
}

func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}
