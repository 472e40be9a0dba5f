package runtime

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/protocol"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

type countingRT struct {
	calls int
	resp  *metadataAPI.Response
	err   error
}

func (c *countingRT) RoundTrip(context.Context, net.Addr, protocol.Message) (protocol.Message, error) {
	c.calls++
	return c.resp, c.err
}

func TestMetadataCache(t *testing.T) {
	ok := &metadataAPI.Response{Topics: []metadataAPI.ResponseTopic{{Name: "t", Partitions: make([]metadataAPI.ResponsePartition, 3)}}}
	missing := &metadataAPI.Response{Topics: []metadataAPI.ResponseTopic{{Name: "t", ErrorCode: 3}}}
	req := &metadataAPI.Request{TopicNames: []string{"t"}}
	tests := []struct {
		name      string
		resp      *metadataAPI.Response
		err       error
		wantCalls int
	}{
		{"answer cached", ok, nil, 1},
		{"topic error not cached", missing, nil, 3},
		{"transport error not cached", nil, errors.New("down"), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &countingRT{resp: tt.resp, err: tt.err}
			c := newMetadataCache(next, time.Hour)
			for i := 0; i < 3; i++ {
				_, _ = c.RoundTrip(context.Background(), nil, req)
			}
			if next.calls != tt.wantCalls {
				t.Fatalf("%d round trips, want %d", next.calls, tt.wantCalls)
			}
		})
	}
	t.Run("expires", func(t *testing.T) {
		next := &countingRT{resp: ok}
		c := newMetadataCache(next, time.Millisecond)
		_, _ = c.RoundTrip(context.Background(), nil, req)
		time.Sleep(3 * time.Millisecond)
		_, _ = c.RoundTrip(context.Background(), nil, req)
		if next.calls != 2 {
			t.Fatalf("%d round trips after expiry, want 2", next.calls)
		}
	})
	t.Run("other requests pass through", func(t *testing.T) {
		next := &countingRT{resp: ok}
		c := newMetadataCache(next, time.Hour)
		all := &metadataAPI.Request{}
		_, _ = c.RoundTrip(context.Background(), nil, all)
		_, _ = c.RoundTrip(context.Background(), nil, all)
		if next.calls != 2 {
			t.Fatalf("%d round trips for all-topic requests, want 2", next.calls)
		}
	})
}
