package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kgen-dev/kgen/runtime"
)

func newSink(t *testing.T, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// write writes msgs (each with a fresh acker) and waits for every outcome.
func write(t *testing.T, s *Sink, msgs []runtime.Message) []*acker {
	t.Helper()
	acks := make([]*acker, len(msgs))
	for i := range msgs {
		acks[i] = newAcker()
		msgs[i].Ack = acks[i]
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for _, a := range acks {
		<-a.done
	}
	return acks
}

func msg(key, value string) runtime.Message {
	m := runtime.Message{Value: []byte(value)}
	if key != "" {
		m.Key = []byte(key)
	}
	return m
}

func TestSinkHappyPath(t *testing.T) {
	ep := newEndpoint(t, nil)
	s := newSink(t, Config{URL: ep.srv.URL + "/hook?token=secret", Headers: map[string]string{"Authorization": "Bearer x"},
		ContentType: "application/json", MaxConcurrentRequests: 4})
	var msgs []runtime.Message
	for i := range 100 {
		msgs = append(msgs, msg(fmt.Sprintf("k/%d é", i%7), fmt.Sprintf(`{"n":%d}`, i)))
	}
	msgs = append(msgs, msg("", "no key"))
	for i, a := range write(t, s, msgs) {
		if calls, err := a.result(); calls != 1 || err != nil {
			t.Fatalf("message %d: %d acknowledgements, err %v; want 1, nil", i, calls, err)
		}
	}
	got := ep.requests()
	if len(got) != len(msgs) {
		t.Fatalf("%d requests, want %d", len(got), len(msgs))
	}
	perKey := map[string][]string{}
	for _, r := range got {
		if h := r.header.Get("Authorization"); h != "Bearer x" {
			t.Errorf("Authorization %q", h)
		}
		if h := r.header.Get("Content-Type"); h != "application/json" {
			t.Errorf("Content-Type %q", h)
		}
		if r.body == "no key" {
			if r.hasKey {
				t.Errorf("a message without key got key header %q", r.key)
			}
			continue
		}
		perKey[r.key] = append(perKey[r.key], r.body)
	}
	for k := range 7 {
		key := fmt.Sprintf("k/%d é", k)
		var want []string
		for i := k; i < 100; i += 7 {
			want = append(want, fmt.Sprintf(`{"n":%d}`, i))
		}
		if fmt.Sprint(perKey[key]) != fmt.Sprint(want) {
			t.Errorf("key %q received %v, want %v", key, perKey[key], want)
		}
	}
}

func TestClassify(t *testing.T) {
	netErr := errors.New("connection refused")
	tests := []struct {
		status    int
		err       error
		ok        bool
		permanent bool
	}{
		{status: 200, ok: true}, {status: 201, ok: true}, {status: 204, ok: true},
		{status: 0, err: netErr},
		{status: 500}, {status: 502}, {status: 503}, {status: 504},
		{status: 408}, {status: 429},
		{status: 400, permanent: true}, {status: 401, permanent: true}, {status: 403, permanent: true},
		{status: 404, permanent: true}, {status: 413, permanent: true}, {status: 422, permanent: true},
		{status: 301, permanent: true}, {status: 302, permanent: true}, {status: 307, permanent: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			err := tt.err
			if tt.status != 0 {
				err = &StatusError{URL: "http://h", Status: tt.status, Body: "body"}
			}
			err = classify(tt.status, err)
			if (err == nil) != tt.ok {
				t.Fatalf("classify(%d) = %v, want ok %v", tt.status, err, tt.ok)
			}
			if err == nil {
				return
			}
			if got := runtime.IsPermanent(err); got != tt.permanent {
				t.Errorf("classify(%d) = %v: permanent %v, want %v", tt.status, err, got, tt.permanent)
			}
			var se *StatusError
			if tt.status != 0 && (!errors.As(err, &se) || se.Status != tt.status) {
				t.Errorf("classify(%d) = %v: want a *StatusError with the status", tt.status, err)
			}
		})
	}
}

// Failures through the real HTTP client: a redirect is not followed (the
// POST would become a GET), a dead endpoint is transient.
func TestSinkFailureKinds(t *testing.T) {
	redirect := newEndpoint(t, func(int, request) int { return http.StatusFound })
	dead := newEndpoint(t, nil)
	deadURL := dead.srv.URL
	dead.srv.Close()
	tests := []struct {
		name      string
		url       string
		permanent bool
		want      string
	}{
		{"redirect", redirect.srv.URL, true, "302 Found"},
		{"connection refused", deadURL, false, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t, Config{URL: tt.url + "/?token=secret"})
			_, err := write(t, s, []runtime.Message{msg("k", "v")})[0].result()
			if err == nil || runtime.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v: want permanent %v, containing %q", err, tt.permanent, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("err %v shows the query string", err)
			}
		})
	}
	if n := len(redirect.requests()); n != 1 {
		t.Errorf("redirecting endpoint got %d requests, want 1 (not followed)", n)
	}
}

// When a request fails, the messages queued behind it for its key fail too
// (transient) and are not sent; other keys are not affected.
func TestSinkFailureFailsKeyBehind(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusUnprocessableEntity} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ep := newEndpoint(t, func(_ int, r request) int {
				if r.body == "a1" {
					return status
				}
				return http.StatusOK
			})
			// One sender: a1 is in flight while a2, a3 and b1 queue.
			s := newSink(t, Config{URL: ep.srv.URL, MaxConcurrentRequests: 1})
			acks := write(t, s, []runtime.Message{msg("a", "a1"), msg("a", "a2"), msg("b", "b1"), msg("a", "a3")})
			_, err := acks[0].result()
			if err == nil || runtime.IsPermanent(err) != (status < 500) {
				t.Fatalf("a1: err %v, want the %d error", err, status)
			}
			for _, i := range []int{1, 3} {
				_, err := acks[i].result()
				if err == nil || runtime.IsPermanent(err) {
					t.Errorf("message %d behind the failure: err %v, want a transient error", i, err)
				}
			}
			if _, err := acks[2].result(); err != nil {
				t.Errorf("b1: %v", err)
			}
			for _, r := range ep.requests() {
				if r.body == "a2" || r.body == "a3" {
					t.Errorf("%s was sent after a1 failed", r.body)
				}
			}
		})
	}
}

func TestSinkBatch(t *testing.T) {
	ep := newEndpoint(t, nil)
	s := newSink(t, Config{URL: ep.srv.URL, MaxBatch: 3, MaxConcurrentRequests: 1})
	// The sender cannot start before Write returns (it needs the lock), so
	// the messages are queued together: key k's in batches of 3 and 1 (its
	// queue goes to the back of the ready list after its first request),
	// the one without a key alone, in between.
	msgs := []runtime.Message{msg("k", "1"), msg("k", "2"), msg("k", "3"), msg("k", "4"), msg("k", "5")}
	msgs[0].Headers = []runtime.Header{{Key: "h", Value: []byte("v")}, {Key: "bin", Value: []byte{0xff}}}
	msgs[4].Key = nil
	msgs[4].Value = []byte{0xfe, 0x00}
	for i, a := range write(t, s, msgs) {
		if _, err := a.result(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	var bodies []any
	for _, r := range ep.requests() {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var v []any
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		bodies = append(bodies, len(v))
		for _, o := range v {
			bodies = append(bodies, o)
		}
	}
	got, _ := json.Marshal(bodies)
	want := `[3,{"headers":{"bin":{"base64":"/w=="},"h":"v"},"key":"k","value":"1"},` +
		`{"headers":{},"key":"k","value":"2"},{"headers":{},"key":"k","value":"3"},` +
		`1,{"headers":{},"key":null,"value":{"base64":"/gA="}},1,{"headers":{},"key":"k","value":"4"}]`
	if string(got) != want {
		t.Errorf("requests\n%s\nwant\n%s", got, want)
	}
}

// A batch refused with a permanent error: which message is at fault is
// unknown, so the batch fails as transient and its messages are sent one by
// one when written again; only the one at fault is then permanent.
func TestSinkBatchRefusedSplits(t *testing.T) {
	ep := newEndpoint(t, func(_ int, r request) int {
		if strings.Contains(r.body, "bad") {
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	s := newSink(t, Config{URL: ep.srv.URL, MaxBatch: 10, MaxConcurrentRequests: 1})
	batch := func() []runtime.Message {
		return []runtime.Message{msg("k", "a"), msg("k", "bad"), msg("k", "c")}
	}
	for i, a := range write(t, s, batch()) {
		if _, err := a.result(); err == nil || runtime.IsPermanent(err) {
			t.Fatalf("first try, message %d: err %v, want transient", i, err)
		}
	}
	acks := write(t, s, batch())
	if _, err := acks[0].result(); err != nil {
		t.Errorf("a: %v", err)
	}
	if _, err := acks[1].result(); !runtime.IsPermanent(err) {
		t.Errorf("bad: err %v, want permanent", err)
	}
	if _, err := acks[2].result(); err == nil || runtime.IsPermanent(err) {
		t.Errorf("c, behind bad: err %v, want transient", err)
	}
	// The third, behind the bad one, failed transient; sent again alone.
	acks = write(t, s, []runtime.Message{msg("k", "c")})
	if _, err := acks[0].result(); err != nil {
		t.Errorf("c again: %v", err)
	}
	var bodies []string
	for _, r := range ep.requests() {
		bodies = append(bodies, r.body)
	}
	want := `[[{"key":"k","value":"a","headers":{}},{"key":"k","value":"bad","headers":{}},{"key":"k","value":"c","headers":{}}]` +
		` [{"key":"k","value":"a","headers":{}}] [{"key":"k","value":"bad","headers":{}}] [{"key":"k","value":"c","headers":{}}]]`
	if fmt.Sprint(bodies) != want {
		t.Errorf("requests %v\nwant %v", bodies, want)
	}
}

// Close sends what was accepted before it returns; each message gets one
// acknowledgement; Write after Close is refused without acknowledgements.
func TestSinkCloseFlushes(t *testing.T) {
	release := make(chan struct{})
	ep := newGatedEndpoint(t, nil, release)
	s, err := New(Config{URL: ep.srv.URL, MaxConcurrentRequests: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []runtime.Message
	acks := make([]*acker, 20)
	for i := range acks {
		acks[i] = newAcker()
		m := msg(fmt.Sprint(i%3), fmt.Sprint(i))
		m.Ack = acks[i]
		msgs = append(msgs, m)
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error)
	go func() { closed <- s.Close(context.Background()) }()
	// Close is waiting on the gated requests; Write is refused already or
	// soon; either way no message is lost.
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, a := range acks {
		if calls, err := a.result(); calls != 1 || err != nil {
			t.Errorf("message %d: %d acknowledgements, err %v; want 1, nil", i, calls, err)
		}
	}
	late := newAcker()
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("late"), Ack: late}}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if calls, _ := late.result(); calls != 0 {
		t.Errorf("refused message acknowledged %d times", calls)
	}
	if len(ep.requests()) != 20 {
		t.Errorf("%d requests, want 20", len(ep.requests()))
	}
	if err := s.Ready(); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Ready after Close: %v", err)
	}
}

// Close's context ending first: requests in flight are cancelled, and every
// message still gets exactly one (transient) outcome before Close returns.
func TestSinkCloseDeadline(t *testing.T) {
	ep := newEndpoint(t, func(int, request) int { return hang })
	s, err := New(Config{URL: ep.srv.URL, MaxConcurrentRequests: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acks := make([]*acker, 10)
	var msgs []runtime.Message
	for i := range acks {
		acks[i] = newAcker()
		m := msg(fmt.Sprint(i%4), fmt.Sprint(i))
		m.Ack = acks[i]
		msgs = append(msgs, m)
	}
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close: %v, want context.Canceled", err)
	}
	for i, a := range acks {
		calls, err := a.result()
		if calls != 1 || err == nil || runtime.IsPermanent(err) {
			t.Errorf("message %d: %d acknowledgements, err %v; want 1, transient", i, calls, err)
		}
	}
	if err := s.Close(context.Background()); !errors.Is(err, context.Canceled) {
		t.Errorf("second Close: %v, want the first's result", err)
	}
}

func TestSinkReady(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	ep := newEndpoint(t, func(int, request) int {
		mu.Lock()
		defer mu.Unlock()
		return status
	})
	s := newSink(t, Config{URL: ep.srv.URL})
	for i := range notReadyAfter {
		if err := s.Ready(); err != nil {
			t.Fatalf("after %d failures: not ready: %v", i, err)
		}
		write(t, s, []runtime.Message{msg("k", "v")})
	}
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("after %d failures: Ready %v, want the 503", notReadyAfter, err)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	write(t, s, []runtime.Message{msg("k", "v")})
	if err := s.Ready(); err != nil {
		t.Fatalf("after a success: %v", err)
	}
	// Refused messages say the endpoint works: ready all along.
	mu.Lock()
	status = http.StatusBadRequest
	mu.Unlock()
	for range notReadyAfter + 1 {
		write(t, s, []runtime.Message{msg("k", "v")})
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("after %d refused messages: %v", notReadyAfter+1, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" valid
	}{
		{"ok", Config{URL: "https://example.com/hook"}, ""},
		{"no url", Config{}, "url: required"},
		{"not http", Config{URL: "ftp://example.com"}, `url "ftp://example.com": want an http:// or https:// URL`},
		{"no host", Config{URL: "http://"}, "want an http"},
		{"credentials redacted", Config{URL: "gopher://u:pw@h/?token=t"}, `url "gopher://h/"`},
		{"header", Config{URL: "http://h", Headers: map[string]string{"Bad Name": "v"}}, `headers: "Bad Name" is not a valid HTTP header name`},
		{"concurrency", Config{URL: "http://h", MaxConcurrentRequests: 2000}, "max_concurrent_requests 2000: want at most 1024"},
		{"batch", Config{URL: "http://h", MaxBatch: 20000}, "max_batch 20000: want at most 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Defaults().Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "token") {
				t.Errorf("Validate: %v shows credentials", err)
			}
		})
	}
}
