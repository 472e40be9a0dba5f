package clienttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// Partition names one input partition as a Source reports it to Intake.Open.
type Partition struct {
	Topic     string
	Partition int32
}

// SourceSetup is one freshly built inbound client under test.
type SourceSetup struct {
	// Source is the client; the suite runs it and stops it through ctx.
	Source runtime.Source
	// Committed, optional, returns the next offset committed for each
	// partition, read where a restart resumes from (the broker); a
	// partition with nothing committed may be left out. nil: the client
	// commits nothing (a file replay starts over).
	Committed func(t testing.TB) map[Partition]int64
}

// SourceFactory builds a fresh client whose input holds input[p] (values,
// in order) in partition p, and that reads it from the start.
type SourceFactory func(t *testing.T, input [][][]byte) SourceSetup

// TestSource runs the conformance suite for an inbound client with the
// given number of input partitions: records submitted in offset order,
// each once, on the partition they belong to; only offsets the engine
// reports finished are committed; every lane opened is drained before Run
// returns; no goroutine outlives Run.
func TestSource(t *testing.T, partitions int, f SourceFactory) {
	t.Run("OffsetOrder", func(t *testing.T) { testSourceOrder(t, partitions, f) })
	t.Run("CommitOnlyFinished", func(t *testing.T) { testSourceCommit(t, partitions, f) })
	t.Run("NoGoroutineLeak", func(t *testing.T) {
		before := goroutines()
		testSourceOrder(t, partitions, f)
		checkLeaks(t, before)
	})
}

func sourceInput(partitions, per int) [][][]byte {
	in := make([][][]byte, partitions)
	for p := range in {
		for i := range per {
			in[p] = append(in[p], fmt.Appendf(nil, "clienttest|p%d|%d|", p, i))
		}
	}
	return in
}

// runSource runs s with in until done says to stop (checked on every
// Submit and every few milliseconds), then cancels it and returns Run's
// error.
func runSource(t *testing.T, s runtime.Source, in *intake, done func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- s.Run(ctx, in) }()
	deadline := time.Now().Add(waitLimit)
	for {
		select {
		case err := <-res:
			return err
		default:
		}
		if done() {
			cancel()
			return <-res
		}
		if time.Now().After(deadline) {
			cancel()
			<-res
			t.Fatalf("the source delivered too little after %s: %s", waitLimit, in.summary())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testSourceOrder: every record of the input is submitted once, in offset
// order, with its partition's values in order; every lane opened is
// drained before Run returns.
func testSourceOrder(t *testing.T, partitions int, f SourceFactory) {
	const per = 500
	input := sourceInput(partitions, per)
	s := f(t, input)
	in := newIntake(-1)
	err := runSource(t, s.Source, in, func() bool { return in.submitted() >= partitions*per })
	if err != nil && !errors.Is(err, runtime.ErrSourceDone) {
		t.Fatalf("Run: %v", err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.lanes) != partitions {
		t.Errorf("records came on %d partitions, want %d", len(in.lanes), partitions)
	}
	for p, l := range in.lanes {
		if !l.drained {
			t.Errorf("%v: lane not drained before Run returned", p)
		}
		if l.opens > 1 {
			t.Logf("%v: opened %d times", p, l.opens)
		}
		var vals [][]byte
		for i, r := range l.recs {
			if i > 0 && r.Offset <= l.recs[i-1].Offset {
				t.Fatalf("%v: offset %d submitted after %d: not in offset order, or twice", p, r.Offset, l.recs[i-1].Offset)
			}
			vals = append(vals, r.Value)
		}
		if len(vals) == 0 {
			continue
		}
		pi := slices.IndexFunc(input, func(part [][]byte) bool { return string(part[0]) == string(vals[0]) })
		if pi < 0 {
			t.Errorf("%v: first record %q is no partition's first", p, vals[0])
			continue
		}
		if !slices.EqualFunc(vals, input[pi], func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Errorf("%v: submitted %d records, not input partition %d's %d in order", p, len(vals), pi, len(input[pi]))
		}
	}
}

// testSourceCommit: the engine reports only the first half of each
// partition finished; the source commits exactly up to there, never
// beyond, while running and when it stops.
func testSourceCommit(t *testing.T, partitions int, f SourceFactory) {
	const per, finished = 400, 150
	s := f(t, sourceInput(partitions, per))
	if s.Committed == nil {
		t.Skip("the client commits no offsets")
	}
	in := newIntake(finished)
	check := func() (reached bool) {
		reached = true
		got := s.Committed(t)
		in.mu.Lock()
		defer in.mu.Unlock()
		for p, l := range in.lanes {
			want, ok := l.committable()
			if c, has := got[p]; has && c >= 0 && (!ok || c > want) {
				t.Fatalf("%v: committed %d, but only records below %d (of %d submitted) are finished", p, c, want, len(l.recs))
			}
			if !ok || got[p] != want {
				reached = false
			}
		}
		return reached && len(in.lanes) == partitions
	}
	err := runSource(t, s.Source, in, check)
	if err != nil && !errors.Is(err, runtime.ErrSourceDone) {
		t.Fatalf("Run: %v", err)
	}
	if !check() {
		t.Errorf("after Run returned, committed %v; want every partition at its finished offset", s.Committed(t))
	}
}

// intake is a fake engine: it keeps what each lane was given, and
// reports the first limit records of each lane finished (all when
// limit < 0).
type intake struct {
	limit int
	mu    sync.Mutex
	lanes map[Partition]*lane
}

func newIntake(limit int) *intake {
	return &intake{limit: limit, lanes: map[Partition]*lane{}}
}

// Open implements runtime.Intake.
func (in *intake) Open(_, topic string, partition int32) runtime.Lane {
	p := Partition{topic, partition}
	in.mu.Lock()
	defer in.mu.Unlock()
	l := in.lanes[p]
	if l == nil {
		l = &lane{in: in}
		in.lanes[p] = l
	}
	l.opens++
	l.drained = false
	return l
}

func (in *intake) submitted() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, l := range in.lanes {
		n += len(l.recs)
	}
	return n
}

func (in *intake) summary() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := ""
	for p, l := range in.lanes {
		s += p.Topic + "/" + strconv.Itoa(int(p.Partition)) + ": " + strconv.Itoa(len(l.recs)) + " records; "
	}
	return s
}

// lane is one partition of the fake engine; in.mu guards it.
type lane struct {
	in      *intake
	recs    []runtime.Record
	opens   int
	drained bool
}

// Submit implements runtime.Lane; it keeps copies of the records.
func (l *lane) Submit(_ context.Context, recs []runtime.Record) error {
	l.in.mu.Lock()
	defer l.in.mu.Unlock()
	if l.drained {
		return runtime.ErrClosed
	}
	for _, r := range recs {
		r.Key, r.Value = slices.Clone(r.Key), slices.Clone(r.Value)
		r.Headers = slices.Clone(r.Headers)
		l.recs = append(l.recs, r)
	}
	return nil
}

// committable is the offset after the last finished record; in.mu held.
func (l *lane) committable() (int64, bool) {
	n := len(l.recs)
	if l.in.limit >= 0 {
		n = min(n, l.in.limit)
	}
	if n == 0 {
		return 0, false
	}
	return l.recs[n-1].Offset + 1, true
}

// Committable implements runtime.Lane.
func (l *lane) Committable() (int64, bool) {
	l.in.mu.Lock()
	defer l.in.mu.Unlock()
	return l.committable()
}

// Drain implements runtime.Lane.
func (l *lane) Drain(context.Context) (int64, bool) {
	l.in.mu.Lock()
	defer l.in.mu.Unlock()
	l.drained = true
	return l.committable()
}

// SetHighWaterMark implements runtime.Lane.
func (l *lane) SetHighWaterMark(int64) {}

// SetCommitted implements runtime.Lane.
func (l *lane) SetCommitted(int64) {}
