// Package webhook is an outbound client written in a user's project, outside
// kgen: it POSTs each output of the processor to an HTTP endpoint and
// acknowledges it once the endpoint answered 2xx, so the input offset passes
// only what the endpoint accepted.
//
// Guarantees (those of runtime.Sink):
//   - At least once: a message is acknowledged only after a 2xx answer; a
//     failed request is sent again by the engine, so the endpoint may see a
//     message twice (after a timeout whose request did arrive, or a restart).
//   - Order per key: a key has at most one request in flight; messages of a
//     key reach the endpoint in the order they were written. When a request
//     fails, the messages queued behind it for its key fail too, unsent, and
//     the engine sends them all again in order.
//   - Failure classification (see classify): 2xx acknowledges; 5xx, 408, 429
//     and network errors are transient (sent again after the backoff, never
//     spending the record's retries); any other answer (4xx, an unfollowed
//     3xx) is permanent: the record goes to the failure policy.
package webhook

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Schema is the JSON Schema of Config as the settings spell it (the
// "config" object of an outbound client named "webhook"). settings.json
// names the same file in "config_schema" so that kgen validate checks it.
//
//go:embed webhook.schema.json
var Schema []byte

// Name is the client's name in settings.json.
const Name = "webhook"

// Config configures the webhook client. Its JSON form is the settings'
// "config" object; zero fields take the defaults below (see Defaults).
type Config struct {
	// URL receives a POST request per message (or per batch). Required.
	URL string `json:"url"`
	// Headers are added to every request (e.g. Authorization). Values are
	// secrets: never logged.
	Headers map[string]string `json:"headers,omitempty" kgen:"secret"`
	// ContentType of a one-message request. Default
	// "application/octet-stream"; a batch is "application/json".
	ContentType string `json:"content_type,omitempty"`
	// TimeoutMS bounds one request, answer included. Default 10000.
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// MaxConcurrentRequests bounds the requests in flight over all keys.
	// Default 8.
	MaxConcurrentRequests int `json:"max_concurrent_requests,omitempty"`
	// MaxBatch is the most messages of one key in one request. 1 (the
	// default) sends the value as the body; more sends a JSON array (see
	// Sink).
	MaxBatch int `json:"max_batch,omitempty"`
}

// The defaults, in one place.
const (
	DefaultContentType           = "application/octet-stream"
	DefaultTimeoutMS             = 10_000
	DefaultMaxConcurrentRequests = 8
	DefaultMaxBatch              = 1
)

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	if c.ContentType == "" {
		c.ContentType = DefaultContentType
	}
	if c.TimeoutMS <= 0 {
		c.TimeoutMS = DefaultTimeoutMS
	}
	if c.MaxConcurrentRequests <= 0 {
		c.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	return c
}

// Timeout is TimeoutMS as a duration.
func (c Config) Timeout() time.Duration { return time.Duration(c.TimeoutMS) * time.Millisecond }

// Validate reports every problem of c (after Defaults) at once, each naming
// the settings field. The JSON Schema says the same; Validate is for a
// Config built in Go.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url: required"))
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want an http:// or https:// URL", redact(c.URL)))
	}
	for k := range c.Headers {
		if !validHeaderName(k) {
			errs = append(errs, fmt.Errorf("headers: %q is not a valid HTTP header name", k))
		}
	}
	if c.MaxConcurrentRequests > 1024 {
		errs = append(errs, fmt.Errorf("max_concurrent_requests %d: want at most 1024", c.MaxConcurrentRequests))
	}
	if c.MaxBatch > 10_000 {
		errs = append(errs, fmt.Errorf("max_batch %d: want at most 10000", c.MaxBatch))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("webhook config: %w", err)
	}
	return nil
}

// validHeaderName reports whether k is an HTTP token (RFC 9110 5.1).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// redact returns the URL without its user info, query and fragment, which
// may carry credentials: fit for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

// newHTTPClient returns the client the sink sends with: redirects are not
// followed (a 301/302/303 would turn the POST into a GET and lose the body;
// a 3xx answer is permanent instead, see classify), and connections are
// kept for every concurrent request.
func newHTTPClient(c Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c.MaxConcurrentRequests
	return &http.Client{
		Transport:     tr,
		Timeout:       c.Timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
