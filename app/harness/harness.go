// Package harness runs a generated project's Process in memory, through the
// runtime's in-memory clients (no broker): the table-driven tests of
// process_test.go (Case) and RunMemory. A project's kgen/harness_gen.go
// instantiates it for the project's value and config types; users call it
// through those (kgen.Case, kgen.RunMemory).
package harness

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kgen-dev/kgen/app"
	"github.com/kgen-dev/kgen/runtime"
)

// TB is the part of testing.TB the harness uses.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Config is a project's generated configuration.
type Config interface {
	Runtime() runtime.Config
}

// Harness runs one project's Process in memory.
type Harness[In, Out any, C Config] struct {
	Codec app.Codec[In, Out]
	// Source and Topic are given to an input that has none: the first
	// inbound client's id and its first topic.
	Source, Topic string
	// TestConfig is the configuration of a Case that sets none.
	TestConfig func() C
}

// Result is what an in-memory run of Process wrote and would commit.
type Result[Out any] struct {
	// Outputs are the records each outbound client received, by client id, in
	// the order written, their values decoded.
	Outputs map[string][]app.Output[Out]
	// DeadLetters are the records whose retries were spent, as written to the
	// dead-letter topic (failure policy dead_letter).
	DeadLetters []runtime.Message
	// Skipped are the records the failure policy skip passed over.
	Skipped []runtime.Record
	// Committed is the next offset that would be committed, by "topic/partition".
	Committed map[string]int64
}

// RunMemory runs p over ins with cfg through the runtime's in-memory clients
// (no broker) and returns what was written and would be committed. An input
// with no Source or Topic gets h.Source or h.Topic; Offsets left 0 count up
// from 0 per partition. An input's RawValue, when not nil, is fed instead of
// its Value encoded.
func (h Harness[In, Out, C]) RunMemory(ctx context.Context, cfg C, p app.Process[In, Out], ins ...app.Input[In, Out]) (Result[Out], error) {
	recs := make([]runtime.Record, len(ins))
	next := map[string]int64{}
	for i, in := range ins {
		b := in.RawValue
		if b == nil {
			var err error
			if b, err = h.Codec.EncodeIn(in.Value); err != nil {
				return Result[Out]{}, fmt.Errorf("input %d: %w", i, err)
			}
		}
		rec := runtime.Record{
			Source:    in.Source,
			Topic:     in.Topic,
			Partition: in.Partition,
			Offset:    in.Offset,
			Key:       in.Key,
			Value:     b,
			Headers:   in.Headers,
			Time:      in.Time,
		}
		if rec.Source == "" {
			rec.Source = h.Source
		}
		if rec.Topic == "" {
			rec.Topic = h.Topic
		}
		tp := rec.Topic + "/" + strconv.Itoa(int(rec.Partition))
		if rec.Offset == 0 {
			rec.Offset = next[tp]
		}
		next[tp] = rec.Offset + 1
		recs[i] = rec
	}
	mr, runErr := runtime.RunInMemory(ctx, cfg.Runtime(), app.Handler(h.Codec, p), recs)
	res := Result[Out]{
		Outputs:     map[string][]app.Output[Out]{},
		DeadLetters: mr.DeadLetters,
		Skipped:     mr.Skipped,
		Committed:   mr.Committed,
	}
	for id, msgs := range mr.Outputs {
		for _, msg := range msgs {
			v, err := h.Codec.DecodeOut(msg.Value)
			if err != nil {
				return res, fmt.Errorf("output to %s: %w", id, err)
			}
			res.Outputs[id] = append(res.Outputs[id], app.Output[Out]{
				Key:       msg.Key,
				Value:     v,
				Headers:   msg.Headers,
				Timestamp: msg.Timestamp,
			})
		}
	}
	return res, runErr
}

// Case is one table-driven test of Process: records in, expected writes out.
// A project's kgen.Case is defined as one (type Case
// harness.Case[InValue, OutValue, Config]), with a Check method of its own.
type Case[In, Out any, C Config] struct {
	Name string
	// In are the records fed to Process, in order (see RunMemory).
	In []app.Input[In, Out]
	// Want is what each outbound client should receive, by client id, in
	// order; a client missing from Want must receive nothing. Outputs compare
	// by key, encoded value and headers, and by Timestamp where the wanted one
	// is set (an output carries its input's Time unless Process sets one).
	Want map[string][]app.Output[Out]
	// WantDeadLetters is how many records should end as dead letters.
	WantDeadLetters int
	// WantCommitted, when not nil, is the next offset that should be committed,
	// by "topic/partition".
	WantCommitted map[string]int64
	// WantErr says the run should fail (e.g. failure policy stop).
	WantErr bool
	// Config to run with; nil means the harness's TestConfig() (the
	// project's kgen.TestConfig()).
	Config *C
}

// Check runs c.In through p in memory and reports on t every way the result
// differs from what c wants.
func (h Harness[In, Out, C]) Check(t TB, c Case[In, Out, C], p app.Process[In, Out]) {
	t.Helper()
	var cfg C
	if c.Config != nil {
		cfg = *c.Config
	} else {
		cfg = h.TestConfig()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.RunMemory(ctx, cfg, p, c.In...)
	if (err != nil) != c.WantErr {
		t.Fatalf("run error = %v, want error: %v", err, c.WantErr)
	}
	ids := map[string]bool{}
	for id := range c.Want {
		ids[id] = true
	}
	for id := range res.Outputs {
		ids[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		got, want := res.Outputs[id], c.Want[id]
		if len(got) != len(want) {
			t.Errorf("client %s received %d records, want %d", id, len(got), len(want))
			continue
		}
		for i := range got {
			if d := h.diffOutput(got[i], want[i]); d != "" {
				t.Errorf("client %s record %d: %s", id, i, d)
			}
		}
	}
	if len(res.DeadLetters) != c.WantDeadLetters {
		t.Errorf("%d dead letters, want %d", len(res.DeadLetters), c.WantDeadLetters)
	}
	if c.WantCommitted != nil && !maps.Equal(res.Committed, c.WantCommitted) {
		t.Errorf("committed %v, want %v", res.Committed, c.WantCommitted)
	}
}

// diffOutput describes how got differs from want ("" when it does not),
// comparing keys, encoded values, headers and (when want sets it) the
// timestamp; To is not compared.
func (h Harness[In, Out, C]) diffOutput(got, want app.Output[Out]) string {
	if !bytes.Equal(got.Key, want.Key) {
		return fmt.Sprintf("key %q, want %q", got.Key, want.Key)
	}
	gv, gerr := h.Codec.EncodeOut(got.Value)
	wv, werr := h.Codec.EncodeOut(want.Value)
	if gerr != nil || werr != nil {
		return fmt.Sprintf("cannot encode values: %v, %v", gerr, werr)
	}
	if !bytes.Equal(gv, wv) {
		return fmt.Sprintf("value %q, want %q", gv, wv)
	}
	if !slices.EqualFunc(got.Headers, want.Headers, func(a, b runtime.Header) bool {
		return a.Key == b.Key && bytes.Equal(a.Value, b.Value)
	}) {
		return fmt.Sprintf("headers %v, want %v", got.Headers, want.Headers)
	}
	if !want.Timestamp.IsZero() && !got.Timestamp.Equal(want.Timestamp) {
		return fmt.Sprintf("timestamp %v, want %v", got.Timestamp, want.Timestamp)
	}
	return ""
}
