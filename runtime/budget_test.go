package runtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitQueued waits until the budget has n waiters.
func waitQueued(t *testing.T, b *budget, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		got := len(b.waiters)
		b.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBudgetServesWaitersInOrder: room freed goes to the longest waiter, and
// a newcomer that would fit does not overtake it (a partition starved under a
// tight budget when every release woke all waiters to race).
func TestBudgetServesWaitersInOrder(t *testing.T) {
	b := newBudget(500, 1<<30)
	ctx := context.Background()
	if err := b.acquire(ctx, 256, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 200, 1); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			if err := b.acquire(ctx, 256, 1); err == nil {
				order <- i
			}
		}()
		waitQueued(t, b, i+1)
	}
	// A newcomer asking for little must queue behind them, though 44 would fit.
	small := make(chan struct{})
	go func() {
		if err := b.acquire(ctx, 10, 1); err == nil {
			close(small)
		}
	}()
	waitQueued(t, b, 4)
	select {
	case <-small:
		t.Fatal("a newcomer overtook three waiters")
	default:
	}
	for want := range 3 {
		b.release(256, 1) // the held 256 first, then each waiter's once it got through
		if want == 0 {
			b.release(200, 1)
		}
		select {
		case got := <-order:
			if got != want {
				t.Fatalf("waiter %d served, want %d (first come, first served)", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("waiter %d never served", want)
		}
	}
	select {
	case <-small:
	case <-time.After(10 * time.Second):
		t.Fatal("the small waiter never served though room was free")
	}
	if r, _ := b.inFlight(); r != 256+10 {
		t.Fatalf("%d records in flight, want %d", r, 256+10)
	}
}

// TestBudgetCancelledWaiterLetsOthersThrough: a waiter whose context ends
// leaves the queue, and the ones behind it that fit are served at once.
func TestBudgetCancelledWaiterLetsOthersThrough(t *testing.T) {
	b := newBudget(100, 1<<30)
	bg := context.Background()
	if err := b.acquire(bg, 60, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	big := make(chan error, 1)
	go func() { big <- b.acquire(ctx, 90, 1) }()
	waitQueued(t, b, 1)
	small := make(chan error, 1)
	go func() { small <- b.acquire(bg, 30, 1) }()
	waitQueued(t, b, 2)
	cancel()
	if err := <-big; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", err)
	}
	select {
	case err := <-small:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter behind a cancelled one was not served though it fits")
	}
	if r, _ := b.inFlight(); r != 90 {
		t.Fatalf("%d records in flight, want 90", r)
	}
}

// TestBudgetOversizedAloneWhenEmpty: a chunk larger than the whole budget
// passes when nothing is in flight, and only then.
func TestBudgetOversizedAloneWhenEmpty(t *testing.T) {
	b := newBudget(10, 100)
	if err := b.acquire(context.Background(), 1, 1000); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.acquire(ctx, 1, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire past an oversized chunk: %v, want deadline exceeded", err)
	}
	b.release(1, 1000)
	if r, by := b.inFlight(); r != 0 || by != 0 {
		t.Fatalf("in flight after release: %d records, %d bytes, want none", r, by)
	}
}
