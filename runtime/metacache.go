package runtime

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// metadataCache answers the single-topic metadata requests that kafka-go's
// Writer makes for every message it is given (Writer.partitions, v0.4.51)
// from a short-lived per-topic cache, and passes everything else through.
// The Transport caches metadata too, but answers each such request with a
// freshly filtered copy: profiled, that was 15% of a passthrough's CPU.
// Only a successful answer with partitions is cached, for ttl (well below
// the Transport's own refresh), so new partitions and moved leaders are
// seen about as soon as the Transport sees them.
type metadataCache struct {
	next kafka.RoundTripper
	ttl  time.Duration

	// entries is an immutable map replaced on every update (copy on
	// write): the per-message read path takes no lock, so workers on
	// several cores do not bounce a lock's cache line.
	entries atomic.Pointer[map[string]metadataEntry]
	mu      sync.Mutex // serialises updates
}

type metadataEntry struct {
	resp    protocol.Message
	expires time.Time
}

func newMetadataCache(next kafka.RoundTripper, ttl time.Duration) *metadataCache {
	c := &metadataCache{next: next, ttl: ttl}
	c.entries.Store(&map[string]metadataEntry{})
	return c
}

// RoundTrip implements kafka.RoundTripper.
func (c *metadataCache) RoundTrip(ctx context.Context, addr net.Addr, req protocol.Message) (protocol.Message, error) {
	m, ok := req.(*metadataAPI.Request)
	if !ok || len(m.TopicNames) != 1 {
		return c.next.RoundTrip(ctx, addr, req)
	}
	topic := m.TopicNames[0]
	now := time.Now()
	e, hit := (*c.entries.Load())[topic]
	if hit && now.Before(e.expires) {
		return e.resp, nil
	}
	resp, err := c.next.RoundTrip(ctx, addr, req)
	if err != nil {
		return resp, err
	}
	if r, ok := resp.(*metadataAPI.Response); ok && cacheable(r, topic) {
		c.mu.Lock()
		old := *c.entries.Load()
		next := make(map[string]metadataEntry, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[topic] = metadataEntry{resp: r, expires: now.Add(c.ttl)}
		c.entries.Store(&next)
		c.mu.Unlock()
	}
	return resp, nil
}

func cacheable(r *metadataAPI.Response, topic string) bool {
	for _, t := range r.Topics {
		if t.Name == topic {
			return t.ErrorCode == 0 && len(t.Partitions) > 0
		}
	}
	return false
}
