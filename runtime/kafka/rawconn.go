package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// connSlot receives the connection the fetch dialer's DialFunc opened.
type connSlot struct {
	mu   sync.Mutex
	conn net.Conn
}

type connSlotKey struct{}

// RawDialer returns a copy of d whose connections can be used for raw
// requests (DialRaw): TLS (when tlsCfg is set) is done in DialFunc, and the
// resulting net.Conn is handed to the connSlot in the context; kafka-go
// then runs SASL over it.
func RawDialer(d *kafka.Dialer, tlsCfg *tls.Config) *kafka.Dialer {
	fd := *d
	fd.TLS = nil
	nd := &net.Dialer{Timeout: d.Timeout, KeepAlive: d.KeepAlive}
	fd.DialFunc = func(ctx context.Context, network, address string) (net.Conn, error) {
		conn, err := nd.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		if tlsCfg != nil {
			c := tlsCfg
			if c.ServerName == "" {
				c = c.Clone()
				host, _, _ := net.SplitHostPort(address)
				c.ServerName = host
			}
			tc := tls.Client(conn, c)
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			conn = tc
		}
		if slot, ok := ctx.Value(connSlotKey{}).(*connSlot); ok {
			slot.mu.Lock()
			slot.conn = conn
			slot.mu.Unlock()
		}
		return conn, nil
	}
	return &fd
}

// DialRaw dials addr with d (a RawDialer) and returns the connection
// after kafka-go's set-up (TLS, SASL), for raw requests; closing either
// return value closes the connection. A timeout > 0 bounds the set-up
// besides ctx.
func DialRaw(ctx context.Context, d *kafka.Dialer, addr string, timeout time.Duration) (net.Conn, *kafka.Conn, error) {
	slot := &connSlot{}
	dctx := context.WithValue(ctx, connSlotKey{}, slot)
	if timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(dctx, timeout)
		defer cancel()
	}
	kc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	slot.mu.Lock()
	conn := slot.conn
	slot.mu.Unlock()
	if conn == nil {
		kc.Close()
		return nil, nil, errors.New("raw connection not captured")
	}
	return conn, kc, nil
}

// RoundTrip sends one request (at version) to the broker at addr on a
// connection of its own, dialed with d (a RawDialer: TLS, SASL), and
// returns the response. The exchange is bounded by DialTimeout and ends at
// once when ctx does. For the requests that kafka-go's Transport would
// route or cache wrongly: a Metadata request that must not create a topic
// nor come from a cache, an OffsetCommit to a coordinator found anew.
func RoundTrip(ctx context.Context, d *kafka.Dialer, addr string, version int16, req protocol.Message) (protocol.Message, error) {
	conn, kc, err := DialRaw(ctx, d, addr, DialTimeout)
	if err != nil {
		return nil, err
	}
	defer kc.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(DialTimeout))
	return protocol.RoundTrip(conn, version, 1, d.ClientID, req)
}
