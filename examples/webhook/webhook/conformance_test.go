package webhook

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kgen-dev/kgen/runtime/clienttest"
)

// The conformance suite every kgen client passes (runtime/clienttest), run
// against the webhook client and a local endpoint. "Durable" is what the
// endpoint took: a request it answered 2xx. Each key is its own partition
// (a key's messages are ordered; different keys are not).
func TestConformance(t *testing.T) {
	for _, batch := range []int{1, 8} {
		t.Run(fmt.Sprintf("max_batch=%d", batch), func(t *testing.T) {
			// One server for every subtest (started before any of them
			// counts goroutines); each sink posts to its own path.
			recv := &receiver{sinks: map[int]*received{}}
			srv := httptest.NewServer(recv)
			defer srv.Close()
			clienttest.TestSink(t, func(t *testing.T, o clienttest.SinkOptions) clienttest.SinkSetup {
				n, r := recv.add(o.Discard)
				s, err := New(Config{URL: srv.URL + "/" + strconv.Itoa(n), MaxBatch: batch, MaxConcurrentRequests: 4}, nil)
				if err != nil {
					t.Fatal(err)
				}
				setup := clienttest.SinkSetup{
					Sink:     s,
					ReadBack: func(t testing.TB) [][][]byte { return r.readBack(t) },
					FailTransient: func() func() {
						r.status.Store(http.StatusServiceUnavailable)
						return func() { r.status.Store(http.StatusOK) }
					},
					FailPermanent: func() func() {
						r.status.Store(http.StatusBadRequest)
						return func() { r.status.Store(http.StatusOK) }
					},
				}
				if batch > 1 {
					// A refused batch fails transient (which of its messages
					// is at fault is unknown; see Sink) and its messages go
					// one by one when written again: the suite's permanent
					// failure, not written again, does not apply.
					setup.FailPermanent = nil
				}
				return setup
			})
		})
	}
}

// receiver is the endpoint of the conformance run: path "/N" is sink N's.
type receiver struct {
	mu    sync.Mutex
	sinks map[int]*received
	next  int
}

// received is what one sink's endpoint took, in arrival order.
type received struct {
	status  atomic.Int32 // the answer; 0 means 200
	discard bool
	mu      sync.Mutex
	bodies  []request
}

func (rc *receiver) add(discard bool) (int, *received) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.next++
	r := &received{discard: discard}
	rc.sinks[rc.next] = r
	return rc.next, r
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n, _ := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/"))
	rc.mu.Lock()
	r := rc.sinks[n]
	rc.mu.Unlock()
	body, err := io.ReadAll(req.Body)
	if r == nil || err != nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	status := int(r.status.Load())
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusOK && !r.discard {
		key, _ := url.PathUnescape(req.Header.Get(KeyHeader))
		r.mu.Lock()
		r.bodies = append(r.bodies, request{key: key, body: string(body), header: http.Header{"Content-Type": req.Header.Values("Content-Type")}})
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

// readBack returns the values taken, one partition per key, each in the
// order taken.
func (r *received) readBack(t testing.TB) [][][]byte {
	r.mu.Lock()
	bodies := append([]request(nil), r.bodies...)
	r.mu.Unlock()
	var order []string
	parts := map[string][][]byte{}
	add := func(key string, v []byte) {
		if _, ok := parts[key]; !ok {
			order = append(order, key)
		}
		parts[key] = append(parts[key], v)
	}
	for _, b := range bodies {
		if b.header.Get("Content-Type") != "application/json" {
			add(b.key, []byte(b.body))
			continue
		}
		var batch []struct {
			Key   json.RawMessage `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal([]byte(b.body), &batch); err != nil {
			t.Fatalf("batch body %.80q: %v", b.body, err)
		}
		for _, m := range batch {
			add(string(decodeBytes(t, m.Key)), decodeBytes(t, m.Value))
		}
	}
	out := make([][][]byte, 0, len(order))
	for _, k := range order {
		out = append(out, parts[k])
	}
	return out
}

// decodeBytes reverses appendBytes: a JSON string, {"base64": ...} or null.
func decodeBytes(t testing.TB, raw json.RawMessage) []byte {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	var b struct {
		Base64 string `json:"base64"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("batch value %s: %v", raw, err)
	}
	v, err := base64.StdEncoding.DecodeString(b.Base64)
	if err != nil {
		t.Fatalf("batch value %s: %v", raw, err)
	}
	return v
}
