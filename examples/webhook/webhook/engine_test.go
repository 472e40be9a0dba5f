package webhook

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filereader"
)

// These tests run the webhook sink under the real engine (the one every
// generated processor runs), fed through lanes as an inbound client feeds
// it: what the endpoint receives, what the failure policy gets, and what
// the offsets commit.

// engineRun feeds recs (grouped by partition, in order) through an engine
// writing to sink and returns the next offset to commit per partition once
// every lane drained, with the engine. With fatal, it waits for the
// failure policy to stop the engine and then drains without waiting (the
// record that stopped it is never finished). The handler forwards each
// record with its value set to "partition/offset", except values starting
// with "bad", kept as they are.
func engineRun(t *testing.T, cfg runtime.Config, sink runtime.Sink, dead runtime.Sink, recs []runtime.Record, fatal bool) (map[int32]int64, *runtime.Engine) {
	t.Helper()
	h := func(_ context.Context, r *runtime.Record) ([]runtime.Output, error) {
		v := []byte(fmt.Sprintf("%d/%d", r.Partition, r.Offset))
		if strings.HasPrefix(string(r.Value), "bad") {
			v = r.Value
		}
		return r.Out(runtime.Output{Key: r.Key, Value: v}), nil
	}
	cfg.Inbound = []runtime.InboundConfig{{ID: "in", Name: filereader.Name, MaxRetries: 3}}
	cfg.Outbound = []runtime.OutboundConfig{{ID: "hook", Name: Name}}
	cfg.Failure.Backoff, cfg.Failure.MaxBackoff = time.Millisecond, 5*time.Millisecond
	e := runtime.NewEngine(cfg, h, map[string]runtime.Sink{"hook": sink}, []string{"hook"}, map[string]runtime.Sink{"in": dead})
	e.Start()
	byPart := map[int32][]runtime.Record{}
	for _, r := range recs {
		byPart[r.Partition] = append(byPart[r.Partition], r)
	}
	lanes := map[int32]runtime.Lane{}
	for p, rs := range byPart {
		lanes[p] = e.Open("in", "t", p)
		if err := lanes[p].Submit(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	drain := context.Background()
	if fatal {
		<-e.Fatal()
		ctx, cancel := context.WithCancel(drain)
		cancel()
		drain = ctx
	}
	next := map[int32]int64{}
	for p, l := range lanes {
		if n, ok := l.Drain(drain); ok {
			next[p] = n
		}
	}
	e.Stop(context.Background())
	if err := sink.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	return next, e
}

// records returns n records over parts partitions and keys keys per
// partition (keys are distinct across partitions), offsets from 0.
func records(n, parts, keys int) []runtime.Record {
	var recs []runtime.Record
	off := make([]int64, parts)
	for i := range n {
		p := i % parts
		recs = append(recs, runtime.Record{Topic: "t", Partition: int32(p), Offset: off[p],
			Key: []byte(fmt.Sprintf("p%d-k%d", p, (i/parts)%keys)), Value: []byte("v")})
		off[p]++
	}
	return recs
}

// A failing endpoint: the first requests answer 503, a few arrive but their
// answer is lost (the client times out). Every record is delivered at least
// once, each key's deliveries are in input order except for a replayed
// suffix, each key's last delivery is its newest record, and every offset
// is committed.
func TestEngineAtLeastOnceOrderPerKey(t *testing.T) {
	const (
		n        = 400
		failing  = 5 // 503 answers
		hangFrom = 20
		hangs    = 3 // delivered, answer lost
	)
	ep := newEndpoint(t, func(i int, _ request) int {
		switch {
		case i < failing:
			return http.StatusServiceUnavailable
		case i >= hangFrom && i < hangFrom+hangs:
			return hang
		}
		return http.StatusOK
	})
	sink, err := New(Config{URL: ep.srv.URL, MaxConcurrentRequests: 4, TimeoutMS: 200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := records(n, 2, 7)
	next, e := engineRun(t, runtime.Config{Workers: 4}, sink, &runtime.MemorySink{}, recs, false)

	if err := e.Err(); err != nil {
		t.Fatalf("engine stopped: %v", err)
	}
	if next[0] != n/2 || next[1] != n/2 {
		t.Errorf("committable %v, want %d for both partitions", next, n/2)
	}
	st := e.Stats()
	if st.Processed != n || st.Abandoned != 0 {
		t.Errorf("processed %d, abandoned %d; want %d, 0", st.Processed, st.Abandoned, n)
	}
	if st.Runs != n {
		t.Errorf("handler runs %d, want %d: a failed send must not run the handler again", st.Runs, n)
	}

	// What the receiver got: every 2xx, and the requests whose answer was
	// lost (it may have processed them).
	var got503, gotHang int
	delivered := map[string][]int64{}
	for _, r := range ep.requests() {
		switch r.status {
		case http.StatusServiceUnavailable:
			got503++
			continue
		case hang:
			gotHang++
		}
		part, off, ok := strings.Cut(r.body, "/")
		o, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil || !strings.HasPrefix(r.key, "p"+part+"-") {
			t.Fatalf("request key %q body %q: not an output of the handler", r.key, r.body)
		}
		delivered[r.key] = append(delivered[r.key], o)
	}
	if got503 != failing || gotHang != hangs {
		t.Fatalf("endpoint answered 503 %d times and lost %d answers; the test wants %d and %d", got503, gotHang, failing, hangs)
	}
	inputs := map[string][]int64{}
	for _, r := range recs {
		inputs[string(r.Key)] = append(inputs[string(r.Key)], r.Offset)
	}
	dups := 0
	for key, want := range inputs {
		dups += checkKeyOrder(t, key, want, delivered[key])
	}
	if dups < hangs {
		t.Errorf("%d deliveries again, want at least %d (each lost answer is sent again)", dups, hangs)
	}
}

// checkKeyOrder checks one key's deliveries against its inputs: nothing
// lost, in input order except that a failure may replay a suffix (a
// delivery may go back to an earlier input and go on in order from there),
// and the last delivery is the newest input. It returns the deliveries
// beyond the first of each input.
func checkKeyOrder(t *testing.T, key string, inputs, got []int64) int {
	t.Helper()
	seen := map[int64]bool{}
	pos := -1 // index in inputs of the previous delivery
	for _, o := range got {
		i := slices.Index(inputs, o)
		if i < 0 {
			t.Errorf("key %s: delivered offset %d, not an input of the key", key, o)
			return 0
		}
		if i > pos+1 {
			t.Errorf("key %s: deliveries %v jump from input %d to %d, skipping some", key, got, pos, i)
			return 0
		}
		if i <= pos && !seen[o] {
			t.Errorf("key %s: deliveries %v go back to an input never delivered", key, got)
			return 0
		}
		seen[o] = true
		pos = i
	}
	if len(seen) != len(inputs) {
		t.Errorf("key %s: %d of %d inputs delivered: %v", key, len(seen), len(inputs), got)
	}
	if len(got) > 0 && got[len(got)-1] != inputs[len(inputs)-1] {
		t.Errorf("key %s: last delivery %d, want the newest input %d", key, got[len(got)-1], inputs[len(inputs)-1])
	}
	return len(got) - len(seen)
}

// A record the endpoint refuses (422) goes to the failure policy at once,
// without running the handler again; the others go through and, but for
// "stop", every offset is committed.
func TestEnginePermanentToFailurePolicy(t *testing.T) {
	for _, policy := range []runtime.OnFailure{runtime.DeadLetter, runtime.Skip, runtime.Stop} {
		t.Run(string(policy), func(t *testing.T) {
			ep := newEndpoint(t, func(_ int, r request) int {
				if strings.HasPrefix(r.body, "bad") {
					return http.StatusUnprocessableEntity
				}
				return http.StatusOK
			})
			sink, err := New(Config{URL: ep.srv.URL, MaxConcurrentRequests: 2}, nil)
			if err != nil {
				t.Fatal(err)
			}
			recs := records(60, 1, 3)
			bad := map[int64]bool{10: true, 11: true, 40: true}
			for i := range recs {
				if bad[recs[i].Offset] {
					recs[i].Value = []byte(fmt.Sprintf("bad %d", recs[i].Offset))
				}
			}
			dead := &runtime.MemorySink{}
			cfg := runtime.Config{Workers: 3, Failure: runtime.FailurePolicy{OnFailure: policy, DeadLetterTopic: "dlq"}}
			next, e := engineRun(t, cfg, sink, dead, recs, policy == runtime.Stop)
			st := e.Stats()
			if policy != runtime.Stop && st.Runs != int64(len(recs)) {
				t.Errorf("handler runs %d, want %d: a permanent outbound error skips the retries", st.Runs, len(recs))
			}
			switch policy {
			case runtime.Stop:
				if err := e.Err(); err == nil || !strings.Contains(err.Error(), "422") {
					t.Fatalf("engine error %v, want the 422", err)
				}
				if next[0] > 10 {
					t.Errorf("committable %d: past the refused record 10", next[0])
				}
				return
			case runtime.DeadLetter:
				var got []string
				for _, m := range dead.Messages() {
					got = append(got, string(m.Value))
					if !strings.Contains(header(m, runtime.HeaderError), "422") {
						t.Errorf("dead letter %s: error header %q, want the 422", m.Value, header(m, runtime.HeaderError))
					}
				}
				slices.Sort(got)
				if want := []string{"bad 10", "bad 11", "bad 40"}; !slices.Equal(got, want) {
					t.Errorf("dead letters %q, want %q", got, want)
				}
			case runtime.Skip:
				if st.Skipped != 3 {
					t.Errorf("skipped %d, want 3", st.Skipped)
				}
			}
			if err := e.Err(); err != nil {
				t.Fatalf("engine stopped: %v", err)
			}
			if next[0] != 60 {
				t.Errorf("committable %d, want 60", next[0])
			}
			accepted := 0
			for _, r := range ep.accepted() {
				if strings.HasPrefix(r.body, "bad") {
					t.Errorf("refused record %q accepted", r.body)
				}
				accepted++
			}
			if accepted != 57 {
				t.Errorf("%d records accepted, want 57", accepted)
			}
		})
	}
}

func header(m runtime.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}
