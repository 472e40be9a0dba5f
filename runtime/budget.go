package runtime

import (
	"context"
	"sync"
)

// budget bounds the records and bytes in flight: fetched and handed to the
// engine but not yet finished. Sources block in acquire while it is spent,
// which pauses fetching; nothing is ever buffered past it except one chunk
// when nothing at all is in flight (so a record larger than the byte budget
// still passes, alone).
//
// Waiters are served first come, first served: a release grants room to the
// longest waiting source first, and a newcomer never overtakes a waiter. A
// free-for-all (every waiter woken, the quickest wins) starved a partition
// under a tight budget: one partition's fetcher lost every race for seconds
// while the others ran.
type budget struct {
	mu       sync.Mutex
	recs     int64
	bytes    int64
	maxRecs  int64
	maxBytes int64
	waiters  []*budgetWaiter // FIFO; the head is served first
}

type budgetWaiter struct {
	n, size int64
	ready   chan struct{} // closed once the room is granted
}

func newBudget(maxRecs int, maxBytes int64) *budget {
	return &budget{maxRecs: int64(maxRecs), maxBytes: maxBytes}
}

// fits reports whether n records of size bytes fit now. Called with mu held.
func (b *budget) fits(n, size int64) bool {
	return b.recs == 0 || (b.recs+n <= b.maxRecs && b.bytes+size <= b.maxBytes)
}

func (b *budget) acquire(ctx context.Context, n, size int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.fits(n, size) {
		b.recs += n
		b.bytes += size
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, size: size, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-w.ready:
		// Granted while ctx ended: hand the room back.
		b.recs -= n
		b.bytes -= size
	default:
		for i, o := range b.waiters {
			if o == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
	}
	// Whoever waited behind w may fit now.
	b.grant()
	b.mu.Unlock()
	return ctx.Err()
}

func (b *budget) release(n, size int64) {
	b.mu.Lock()
	b.recs -= n
	b.bytes -= size
	b.grant()
	b.mu.Unlock()
}

// grant hands room to the waiters at the head of the queue, in order, for
// as long as they fit. Called with mu held.
func (b *budget) grant() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if !b.fits(w.n, w.size) {
			return
		}
		b.recs += w.n
		b.bytes += w.size
		close(w.ready)
		b.waiters[0] = nil
		b.waiters = b.waiters[1:]
	}
}

// inFlight reports the records and bytes currently in flight.
func (b *budget) inFlight() (recs, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recs, b.bytes
}
