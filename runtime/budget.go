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
type budget struct {
	mu       sync.Mutex
	recs     int64
	bytes    int64
	maxRecs  int64
	maxBytes int64
	// wake is closed (and cleared) by release when someone waits.
	wake chan struct{}
}

func newBudget(maxRecs int, maxBytes int64) *budget {
	return &budget{maxRecs: int64(maxRecs), maxBytes: maxBytes}
}

func (b *budget) acquire(ctx context.Context, n, size int64) error {
	for {
		b.mu.Lock()
		if b.recs == 0 || (b.recs+n <= b.maxRecs && b.bytes+size <= b.maxBytes) {
			b.recs += n
			b.bytes += size
			b.mu.Unlock()
			return nil
		}
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		w := b.wake
		b.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n, size int64) {
	b.mu.Lock()
	b.recs -= n
	b.bytes -= size
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	b.mu.Unlock()
}

// inFlight reports the records and bytes currently in flight.
func (b *budget) inFlight() (recs, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recs, b.bytes
}
