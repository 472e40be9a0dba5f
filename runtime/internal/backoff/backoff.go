// Package backoff is the exponential delay with jitter of the runtime's
// reconnect and restart loops, shared by the runtime and its clients.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential delay with jitter for reconnect loops. One
// goroutine owns it.
type Backoff struct {
	min, max, cur time.Duration
	// Sleep waits d or until ctx ends (a test hook; nil means a timer).
	Sleep func(ctx context.Context, d time.Duration)
}

// New returns a Backoff starting at lo and doubling up to hi.
func New(lo, hi time.Duration) *Backoff { return &Backoff{min: lo, max: hi, cur: lo} }

// Reset starts the delays again from the first.
func (b *Backoff) Reset() { b.cur = b.min }

// Wait sleeps the current delay with jitter (half of it to all of it), or
// until ctx ends, and doubles the next delay.
func (b *Backoff) Wait(ctx context.Context) {
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(b.cur*2, b.max)
	if b.Sleep != nil {
		b.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
