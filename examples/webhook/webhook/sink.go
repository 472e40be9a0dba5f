package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"unicode/utf8"

	"github.com/kgen-dev/kgen/runtime"
)

// KeyHeader carries a message's key, percent-encoded (url.PathEscape), in a
// one-message request; it is absent when the key is nil.
const KeyHeader = "Kgen-Key"

// notReadyAfter is how many requests in a row must fail before Ready
// reports the endpoint as failing: one failure is a blip.
const notReadyAfter = 3

// Sink is the webhook outbound client, a runtime.Sink.
//
// Write queues messages per key and returns; MaxConcurrentRequests senders
// take keys whose queue is not empty and has no request in flight, send up
// to MaxBatch of its messages in one POST, and acknowledge them from the
// answer. A key's next request starts only after the previous one was
// answered: order per key holds under concurrency.
//
// With MaxBatch 1 a request's body is the message's value, with
// Content-Type ContentType and the key in KeyHeader. With more, the body is
// a JSON array, one object per message in order:
//
//	{"key":K,"value":V,"headers":{"name":H,...}}
//
// where K, V and each H are JSON strings when the bytes are valid UTF-8 and
// {"base64":"..."} otherwise, and a nil key is null. A batch refused with a
// permanent error fails as a transient one and its key's next messages are
// sent one per request, so that only the message at fault reaches the
// failure policy.
type Sink struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	target string // the URL without credentials, for logs and errors

	// reqCtx is every request's context; cancelled when Close's context
	// ends, which fails what is in flight and pending at once.
	reqCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond
	keys    map[string]*keyQueue
	ready   []*keyQueue // keys with pending messages and no request in flight, FIFO
	closed  bool
	failing int   // requests failed in a row
	lastErr error // the last of them

	closeOnce sync.Once
	closeErr  error
}

// keyQueue holds one key's messages not yet sent.
type keyQueue struct {
	key    string
	msgs   []pending
	busy   bool // a request of this key is in flight
	queued bool // in Sink.ready
	// solo counts the key's next messages to send one per request, after a
	// batch was refused.
	solo int
}

// pending is a message kept until it is acknowledged: Write does not keep
// the caller's slice, only the byte slices it points to (which the engine
// lets a sink keep until the acknowledgement).
type pending struct {
	key     []byte
	value   []byte
	headers []runtime.Header
	ack     runtime.Acker
}

// New returns a webhook sink for cfg (zero fields take their defaults) and
// starts its senders; Close stops them. It sends nothing before the first
// Write: an unreachable endpoint shows as failed acknowledgements and in
// Ready.
func New(cfg Config, log *slog.Logger) (*Sink, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sink{
		cfg:    cfg,
		client: newHTTPClient(cfg),
		target: redact(cfg.URL),
		reqCtx: ctx,
		cancel: cancel,
		keys:   map[string]*keyQueue{},
	}
	s.log = log.With("component", Name, "url", s.target)
	s.cond = sync.NewCond(&s.mu)
	for range cfg.MaxConcurrentRequests {
		s.wg.Add(1)
		go s.sender()
	}
	return s, nil
}

// Write queues msgs by key and returns without waiting for the endpoint.
// After Close it returns runtime.ErrClosed and calls no Acker.
func (s *Sink) Write(_ context.Context, msgs []runtime.Message) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return runtime.ErrClosed
	}
	woken := 0
	for i := range msgs {
		m := &msgs[i]
		q := s.keys[string(m.Key)]
		if q == nil {
			q = &keyQueue{key: string(m.Key)}
			s.keys[q.key] = q
		}
		q.msgs = append(q.msgs, pending{key: m.Key, value: m.Value, headers: m.Headers, ack: m.Ack})
		if !q.busy && !q.queued {
			q.queued = true
			s.ready = append(s.ready, q)
			woken++
		}
	}
	s.mu.Unlock()
	for range min(woken, s.cfg.MaxConcurrentRequests) {
		s.cond.Signal()
	}
	return nil
}

// sender sends requests until the sink is closed and nothing is left.
func (s *Sink) sender() {
	defer s.wg.Done()
	// The engine's fast acknowledgement path: this goroutine owns acks.
	var (
		acks  runtime.Acks
		buf   []runtime.Acker
		batch []pending // the request's messages; cleared once acknowledged
	)
	s.mu.Lock()
	for {
		for len(s.ready) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.ready) == 0 {
			s.mu.Unlock()
			return
		}
		q := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		q.queued, q.busy = false, true
		n := min(len(q.msgs), s.cfg.MaxBatch)
		if q.solo > 0 {
			n = 1
			q.solo--
		}
		batch = append(batch[:0], q.msgs[:n]...)
		clear(q.msgs[:n]) // the queue's array keeps nothing of them
		q.msgs = q.msgs[n:]
		s.mu.Unlock()

		err := s.send(batch)

		s.mu.Lock()
		q.busy = false
		var behind []pending
		failing := s.failing
		if err != nil && !runtime.IsPermanent(err) {
			// Readiness counts the endpoint's trouble; an answer refusing
			// a message says the endpoint works.
			s.failing++
			s.lastErr = err
		} else {
			s.failing = 0
		}
		if err != nil {
			behind, q.msgs = q.msgs, nil
			if runtime.IsPermanent(err) && len(batch) > 1 {
				// The endpoint refused the batch, but which message is at
				// fault? Fail it as transient and send its messages alone
				// when the engine sends them again.
				q.solo = len(batch)
				err = fmt.Errorf("batch of %d refused, sending its messages one by one: %w",
					len(batch), notPermanent(err))
			}
		}
		switch {
		case len(q.msgs) > 0:
			q.queued = true
			s.ready = append(s.ready, q)
		case q.solo == 0:
			delete(s.keys, q.key)
		}
		failingNow := s.failing
		s.mu.Unlock()

		switch {
		case failingNow == notReadyAfter && failing+1 == notReadyAfter && s.reqCtx.Err() == nil:
			s.log.Warn("webhook requests failing", "in_a_row", notReadyAfter, "err", err)
		case failingNow == 0 && failing >= notReadyAfter:
			s.log.Info("webhook requests succeed again", "failed_in_a_row", failing)
		}
		if err == nil {
			for _, p := range batch {
				buf = append(buf, p.ack)
			}
			acks.Succeed(buf)
			clear(buf)
			buf = buf[:0]
		} else {
			for _, p := range batch {
				done(p.ack, err)
			}
		}
		clear(batch)
		if len(behind) > 0 {
			// Not sent: they did nothing wrong, so transient. The engine
			// sends them again in order, after the failed one.
			behindErr := fmt.Errorf("not sent, an earlier message of its key failed: %w", notPermanent(err))
			for _, p := range behind {
				done(p.ack, behindErr)
			}
		}
		s.mu.Lock()
	}
}

// notPermanent returns err without its permanent mark (a transient error
// as it is): what it says stays findable with errors.As.
func notPermanent(err error) error {
	if !runtime.IsPermanent(err) {
		return err
	}
	if inner := errors.Unwrap(err); inner != nil && !runtime.IsPermanent(inner) {
		return inner
	}
	return errors.New(err.Error())
}

func done(a runtime.Acker, err error) {
	if a != nil {
		a.Done(err)
	}
}

// send POSTs batch and returns the outcome, classified (see classify).
func (s *Sink) send(batch []pending) error {
	if err := s.reqCtx.Err(); err != nil {
		return fmt.Errorf("webhook %s: sink closed before the message was sent: %w", s.target, runtime.ErrClosed)
	}
	body, ctype := s.encode(batch)
	req, err := http.NewRequestWithContext(s.reqCtx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		// The URL was validated in New: this cannot happen, and a retry
		// would not change it.
		return runtime.Permanent(fmt.Errorf("webhook %s: %w", s.target, err))
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", ctype)
	if len(batch) == 1 && s.cfg.MaxBatch == 1 && batch[0].key != nil {
		req.Header.Set(KeyHeader, url.PathEscape(string(batch[0].key)))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query included
		}
		return classify(0, fmt.Errorf("webhook %s: %w", s.target, err))
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	return classify(resp.StatusCode, &StatusError{URL: s.target, Status: resp.StatusCode, Body: string(snippet)})
}

// StatusError is a non-2xx answer of the endpoint.
type StatusError struct {
	URL    string // without credentials
	Status int
	Body   string // the answer's first 256 bytes
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook %s: answered %d %s: %q", e.URL, e.Status, http.StatusText(e.Status), e.Body)
}

// classify turns a request's outcome into what the engine needs: nil
// (acknowledged), a transient error (sent again after the backoff without
// spending the record's retries), or a permanent one (runtime.Permanent:
// the failure policy at once). status is the answer's, err says what
// happened: the transport error when no answer came (status 0), the
// *StatusError of a non-2xx answer.
//
//   - 2xx: the endpoint took the message.
//   - No answer (connection refused or reset, DNS, TLS handshake, timeout,
//     sink closing): says nothing about the message; transient. A timed
//     out request may have arrived: at least once, the endpoint may see it
//     twice.
//   - 5xx: the endpoint's own trouble; transient.
//   - 408 Request Timeout and 429 Too Many Requests: the endpoint asks to
//     try later; transient.
//   - Any other 4xx: the endpoint refuses this request (bad payload, not
//     authorized, not found) and would refuse it again; permanent. A
//     misconfigured url or token refuses everything: with on_failure
//     "stop" the processor stops with nothing lost; "dead_letter" keeps
//     the records.
//   - 3xx (redirects are not followed, see newHTTPClient) and 1xx: the same
//     request gets the same answer; permanent, with the status in the
//     error so that the url can be fixed.
func classify(status int, err error) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == 0, status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return err
	default:
		return runtime.Permanent(err)
	}
}

// encode returns a request body for batch and its content type.
func (s *Sink) encode(batch []pending) ([]byte, string) {
	if s.cfg.MaxBatch == 1 {
		return batch[0].value, s.cfg.ContentType
	}
	b := []byte{'['}
	for i, p := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		if p.key == nil {
			b = append(b, "null"...)
		} else {
			b = appendBytes(b, p.key)
		}
		b = append(b, `,"value":`...)
		b = appendBytes(b, p.value)
		b = append(b, `,"headers":{`...)
		for j, h := range p.headers {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, h.Key)
			b = append(b, ':')
			b = appendBytes(b, h.Value)
		}
		b = append(b, "}}"...)
	}
	return append(b, ']'), "application/json"
}

// appendBytes appends v as a JSON string when it is valid UTF-8, as
// {"base64":"..."} otherwise.
func appendBytes(b, v []byte) []byte {
	if utf8.Valid(v) {
		return appendString(b, string(v))
	}
	b = append(b, `{"base64":"`...)
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, `"}`...)
}

func appendString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // a string always marshals
	return append(b, enc...)
}

// Ready reports runtime.ErrClosed after Close, and the last error once
// notReadyAfter requests in a row failed without an answer or with a 5xx,
// 408 or 429 (an answer refusing a message says the endpoint works); nil
// otherwise. The processor's /readyz includes it.
func (s *Sink) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return runtime.ErrClosed
	case s.failing >= notReadyAfter:
		return fmt.Errorf("%d requests in a row failed, the last: %w", s.failing, s.lastErr)
	}
	return nil
}

// Close stops taking messages and sends what was accepted, within ctx: each
// accepted message gets its acknowledgement, nil or an error. When ctx ends
// first, requests in flight are cancelled and what is left fails with a
// transient error (the engine does not commit it; the next run sends it
// again). Later calls return the first call's result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cond.Broadcast()
		stopped := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-ctx.Done():
			s.cancel()
			<-stopped // quick: every request fails once cancelled
			s.closeErr = fmt.Errorf("webhook %s: close: %w", s.target, ctx.Err())
		}
		s.cancel()
		s.client.CloseIdleConnections()
	})
	return s.closeErr
}
