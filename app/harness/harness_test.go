package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/app"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/stdout"
)

// config stands for a project's generated Config.
type config struct {
	failure runtime.OnFailure
}

func (c config) Runtime() runtime.Config {
	return runtime.Config{
		Workers:  2,
		Logger:   slog.New(slog.DiscardHandler),
		Inbound:  []runtime.InboundConfig{{ID: "in", Name: consumer.Name}},
		Outbound: []runtime.OutboundConfig{{ID: "out", Name: stdout.Name}},
		Failure:  runtime.FailurePolicy{OnFailure: c.failure, Backoff: time.Millisecond, MaxBackoff: time.Millisecond},
	}
}

// upper is a Codec whose outbound values are upper case on the wire: a
// harness that compared or returned encoded outputs would show it.
var upper = app.Codec[string, string]{
	DecodeIn: func(b []byte) (string, error) {
		if !strings.HasPrefix(string(b), "ok") {
			return "", &app.DecodeError{Err: fmt.Errorf("%q does not start with ok", b)}
		}
		return string(b), nil
	},
	EncodeIn:  func(s string) ([]byte, error) { return []byte(s), nil },
	DecodeOut: func(b []byte) (string, error) { return strings.ToLower(string(b)), nil },
	EncodeOut: func(s string) ([]byte, error) { return []byte(strings.ToUpper(s)), nil },
}

var h = Harness[string, string, config]{
	Codec: upper, Source: "in", Topic: "events",
	TestConfig: func() config { return config{failure: runtime.Skip} },
}

type (
	input  = app.Input[string, string]
	output = app.Output[string]
)

// forward writes each value with " done" appended.
func forward(_ context.Context, in input) ([]output, error) {
	return in.Out(output{Key: in.Key, Value: in.Value + " done", Headers: in.Headers}), nil
}

func TestRunMemory(t *testing.T) {
	res, err := h.RunMemory(context.Background(), config{failure: runtime.Skip}, forward,
		input{Key: []byte("a"), Value: "ok 1"},
		input{Key: []byte("a"), Value: "ok 2"},
		input{Key: []byte("b"), Topic: "other", Partition: 1, Offset: 41, Value: "ok 3"},
		input{Key: []byte("b"), RawValue: []byte("not ok")}, // skipped: does not decode
	)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]string{}
	for _, o := range res.Outputs["out"] {
		byKey[string(o.Key)] = append(byKey[string(o.Key)], o.Value)
	}
	want := map[string][]string{"a": {"ok 1 done", "ok 2 done"}, "b": {"ok 3 done"}}
	if fmt.Sprint(byKey) != fmt.Sprint(want) {
		t.Errorf("outputs by key %v, want %v (decoded values, in order per key)", byKey, want)
	}
	if len(res.Skipped) != 1 || string(res.Skipped[0].Value) != "not ok" || res.Skipped[0].Topic != "events" || res.Skipped[0].Source != "in" {
		t.Errorf("skipped %v, want the RawValue record from in/events", res.Skipped)
	}
	committed := map[string]int64{"events/0": 3, "other/1": 42}
	if fmt.Sprint(res.Committed) != fmt.Sprint(committed) {
		t.Errorf("committed %v, want %v (offsets counted per partition from 0)", res.Committed, committed)
	}
}

// fakeTB records what Check reports; Fatalf stops Check as testing.T does.
type fakeTB struct{ errs []string }

type fatal struct{}

func (*fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	panic(fatal{})
}

func (f *fakeTB) check(c Case[string, string, config], p app.Process[string, string]) {
	defer func() {
		if r := recover(); r != nil && r != (fatal{}) {
			panic(r)
		}
	}()
	h.Check(f, c, p)
}

func TestCheck(t *testing.T) {
	stop := config{failure: runtime.Stop}
	fail := func(context.Context, input) ([]output, error) { return nil, runtime.Permanent(errors.New("no")) }
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    Case[string, string, config]
		p    app.Process[string, string]
		want []string // substrings of the reports, in order; none: the case passes
	}{
		{name: "passes", p: forward, c: Case[string, string, config]{
			In:            []input{{Key: []byte("k"), Value: "ok", Time: at}},
			Want:          map[string][]output{"out": {{Key: []byte("k"), Value: "ok done", Timestamp: at}}},
			WantCommitted: map[string]int64{"events/0": 1},
		}},
		{name: "value differs", p: forward, c: Case[string, string, config]{
			In:   []input{{Key: []byte("k"), Value: "ok"}},
			Want: map[string][]output{"out": {{Key: []byte("k"), Value: "ok"}}},
		}, want: []string{`client out record 0: value "OK DONE", want "OK"`}},
		{name: "key, headers and timestamp differ", p: forward, c: Case[string, string, config]{
			In: []input{
				{Key: []byte("k"), Value: "ok"},
				{Key: []byte("k"), Value: "ok", Headers: []runtime.Header{{Key: "h", Value: []byte("1")}}},
				{Key: []byte("k"), Value: "ok", Time: at},
			},
			Want: map[string][]output{"out": {
				{Key: []byte("j"), Value: "ok done"},
				{Key: []byte("k"), Value: "ok done", Headers: []runtime.Header{{Key: "h", Value: []byte("2")}}},
				{Key: []byte("k"), Value: "ok done", Timestamp: at.Add(time.Second)},
			}},
		}, want: []string{`record 0: key "k", want "j"`, "record 1: headers", "record 2: timestamp"}},
		{name: "count, client, dead letters and commits differ", p: forward, c: Case[string, string, config]{
			In:              []input{{Value: "ok"}},
			Want:            map[string][]output{"elsewhere": {{Value: "ok done"}}},
			WantDeadLetters: 1,
			WantCommitted:   map[string]int64{"events/0": 2},
		}, want: []string{"client elsewhere received 0 records, want 1", "client out received 1 records, want 0", "0 dead letters, want 1", "committed map[events/0:1], want map[events/0:2]"}},
		{name: "run fails as wanted", p: fail, c: Case[string, string, config]{
			In: []input{{Value: "ok"}}, WantErr: true, Config: &stop,
		}},
		{name: "run fails unexpectedly", p: fail, c: Case[string, string, config]{
			In: []input{{Value: "ok"}}, Config: &stop, WantDeadLetters: 5,
		}, want: []string{"run error = "}}, // Fatalf: nothing checked after it
		{name: "TestConfig when Config is nil", p: fail, c: Case[string, string, config]{
			In: []input{{Value: "ok"}}, WantCommitted: map[string]int64{"events/0": 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakeTB
			f.check(tt.c, tt.p)
			if len(f.errs) != len(tt.want) {
				t.Fatalf("reports %q, want %d like %q", f.errs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(f.errs[i], w) {
					t.Errorf("report %d %q, want it to hold %q", i, f.errs[i], w)
				}
			}
		})
	}
}
