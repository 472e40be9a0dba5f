package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// request is one request an endpoint received, with the status it answered.
type request struct {
	key    string // KeyHeader, decoded; "" when absent
	hasKey bool
	body   string
	header http.Header
	status int
}

// endpoint is a local HTTP server standing for the user's webhook receiver.
// answer decides the status of the n-th request (0-based); nil answers 200.
// When answer returns hang, the endpoint records the request as delivered
// and does not answer until the client gives up on it (a request that
// arrived but whose answer was lost).
type endpoint struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(n int, r request) int
	// gate, when not nil, holds every request until it is closed.
	gate <-chan struct{}

	mu  sync.Mutex
	got []request
}

const hang = -1

func newEndpoint(t *testing.T, answer func(n int, r request) int) *endpoint {
	t.Helper()
	return newGatedEndpoint(t, answer, nil)
}

func newGatedEndpoint(t *testing.T, answer func(n int, r request) int, gate <-chan struct{}) *endpoint {
	t.Helper()
	ep := &endpoint{t: t, answer: answer, gate: gate}
	ep.srv = httptest.NewServer(http.HandlerFunc(ep.serve))
	t.Cleanup(ep.srv.Close)
	return ep
}

func (ep *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	if ep.gate != nil {
		<-ep.gate
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost {
		ep.t.Errorf("method %s, want POST", r.Method)
	}
	req := request{body: string(body), header: r.Header.Clone()}
	if k, ok := r.Header[KeyHeader]; ok {
		req.key, err = url.PathUnescape(k[0])
		req.hasKey = true
		if err != nil {
			ep.t.Errorf("key header %q: %v", k[0], err)
		}
	}
	ep.mu.Lock()
	n := len(ep.got)
	status := http.StatusOK
	if ep.answer != nil {
		status = ep.answer(n, req)
	}
	req.status = status
	ep.got = append(ep.got, req)
	ep.mu.Unlock()
	if status == hang {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status))
}

// requests returns every request received so far, in arrival order.
func (ep *endpoint) requests() []request {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]request(nil), ep.got...)
}

// accepted returns the bodies of the requests answered 2xx, in arrival
// order: what the receiver took.
func (ep *endpoint) accepted() []request {
	var out []request
	for _, r := range ep.requests() {
		if r.status >= 200 && r.status < 300 {
			out = append(out, r)
		}
	}
	return out
}

// acker records the outcomes it gets; more than one is a defect.
type acker struct {
	mu    sync.Mutex
	calls int
	err   error
	done  chan struct{}
}

func newAcker() *acker { return &acker{done: make(chan struct{})} }

func (a *acker) Done(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.calls == 1 {
		a.err = err
		close(a.done)
	}
}

func (a *acker) result() (calls int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls, a.err
}
