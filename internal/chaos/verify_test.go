package chaos

import (
	"fmt"
	"strings"
	"testing"
)

// recs builds records of one partition from "KEY:SEQ" values, offsets from 0.
func recs(partition int, values ...string) []Record {
	out := make([]Record, len(values))
	for i, v := range values {
		key, _, _ := strings.Cut(v, ":")
		out[i] = Record{Partition: partition, Offset: int64(i), Key: []byte(key), Value: []byte(v)}
	}
	return out
}

// seqs is "k:0" … "k:n-1".
func seqs(key string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s:%d", key, i)
	}
	return out
}

// The verifier must catch every kind of violation: a crafted bad output for
// each, and good outputs that must pass (including an allowed replay).
func TestVerify(t *testing.T) {
	abc := recs(0, "a:0", "a:1", "a:2")
	tests := []struct {
		name    string
		inputs  []Record
		outputs []Record
		want    Report // only the counters are compared
	}{
		{"exact copy", abc, recs(3, "a:0", "a:1", "a:2"),
			Report{Inputs: 3, Records: 3, Keys: 1}},
		{"replayed suffix A B C | B C", abc, recs(3, "a:0", "a:1", "a:2", "a:1", "a:2"),
			Report{Inputs: 3, Records: 5, Keys: 1, Duplicates: 2}},
		{"two replays A B | A B C | C", abc, recs(3, "a:0", "a:1", "a:0", "a:1", "a:2", "a:2"),
			Report{Inputs: 3, Records: 6, Keys: 1, Duplicates: 3}},
		{"lost B", abc, recs(3, "a:0", "a:2"),
			Report{Inputs: 3, Records: 2, Keys: 1, Lost: 1, OrderViolations: 1}},
		{"lost the newest", abc, recs(3, "a:0", "a:1"),
			Report{Inputs: 3, Records: 2, Keys: 1, Lost: 1, StaleLast: 1}},
		{"A C B", abc, recs(3, "a:0", "a:2", "a:1"),
			Report{Inputs: 3, Records: 3, Keys: 1, OrderViolations: 2, StaleLast: 1}},
		{"A B A", recs(0, "a:0", "a:1"), recs(3, "a:0", "a:1", "a:0"),
			Report{Inputs: 2, Records: 3, Keys: 1, Duplicates: 1, OrderViolations: 1, StaleLast: 1}},
		{"A B C | B (replay stops short)", abc, recs(3, "a:0", "a:1", "a:2", "a:1"),
			Report{Inputs: 3, Records: 4, Keys: 1, Duplicates: 1, OrderViolations: 1, StaleLast: 1}},
		{"B A C (first output not the first input)", abc, recs(3, "a:1", "a:0", "a:2"),
			Report{Inputs: 3, Records: 3, Keys: 1, OrderViolations: 2}},
		{"A B C | B D skips C in the replay", recs(0, "a:0", "a:1", "a:2", "a:3"), recs(3, "a:0", "a:1", "a:2", "a:1", "a:3"),
			Report{Inputs: 4, Records: 5, Keys: 1, Duplicates: 1, OrderViolations: 1}},
		{"aborted input delivered", append(recs(0, "a:0", "a:aborted:7"), recs(1, "b:0")...),
			append(recs(3, "a:0", "a:aborted:7"), recs(4, "b:0")...),
			Report{Inputs: 2, Records: 3, Keys: 2, Unexpected: 1}},
		{"unknown key and bad value", abc, recs(3, "a:0", "a:1", "a:2", "z:0", "garbage"),
			Report{Inputs: 3, Records: 5, Keys: 1, Unexpected: 2}},
		{"key missing entirely", append(recs(0, "a:0"), recs(1, "b:0", "b:1")...), recs(3, "a:0"),
			Report{Inputs: 3, Records: 1, Keys: 2, Lost: 2, StaleLast: 1}},
		{"duplicated input is not the processor's duplicate", recs(0, "a:0", "a:1", "a:0", "a:1", "a:2"), recs(3, "a:0", "a:1", "a:2"),
			Report{Inputs: 5, Records: 3, Keys: 1, InputDuplicates: 2}},
		{"input out of order is the test's fault", recs(0, "a:0", "a:2", "a:1"), recs(3, "a:0", "a:2", "a:1"),
			Report{Inputs: 3, Records: 3, Keys: 1, InputDisorder: 2, OrderViolations: 2}},
		{"keys interleaved across partitions", append(recs(0, seqs("a", 3)...), recs(1, seqs("b", 2)...)...),
			append(recs(3, "a:0", "a:1", "a:2"), recs(4, "b:0", "b:1", "b:0", "b:1")...),
			Report{Inputs: 5, Records: 7, Keys: 2, Duplicates: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Verify(tt.inputs, tt.outputs)
			ex := got.Examples
			got.Examples = nil
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %s\nwant %s\nexamples: %q", got.Line(), tt.want.Line(), ex)
			}
			bad := tt.want.InputDisorder+tt.want.Lost+tt.want.OrderViolations+tt.want.StaleLast+tt.want.Unexpected > 0
			if got.OK() == bad {
				t.Errorf("OK() = %v for %s", got.OK(), got.Line())
			}
			if bad && len(ex) == 0 {
				t.Error("a violation without an example line")
			}
		})
	}
}

// Verify reads a key's outputs in log order whatever order the records come in.
func TestVerifySortsByLog(t *testing.T) {
	out := recs(3, "a:0", "a:1", "a:2")
	out[0], out[2] = out[2], out[0]
	if r := Verify(recs(0, "a:0", "a:1", "a:2"), out); !r.OK() || r.Duplicates != 0 {
		t.Errorf("%s %q", r.Line(), r.Examples)
	}
}

func TestDuplicatesAcross(t *testing.T) {
	// Run 1 wrote offsets 0-2 of partition 3; run 2 wrote from offset 3.
	out := recs(3, "a:0", "a:1", "a:2", "a:2", "a:3")
	if n := DuplicatesAcross(out, map[int]int64{3: 3}); n != 1 {
		t.Errorf("DuplicatesAcross = %d, want 1", n)
	}
	if n := DuplicatesAcross(out, map[int]int64{3: 5}); n != 0 {
		t.Errorf("DuplicatesAcross with nothing after = %d, want 0", n)
	}
}

func TestWrittenSinceCommit(t *testing.T) {
	in := recs(0, "a:0", "a:1", "a:2", "a:3") // committed up to offset 1 (next: 1)
	out := recs(3, "a:0", "a:1", "a:2", "a:1", "a:2", "a:3")
	// At the crash the output held offsets 0-2: a:1 and a:2 were written
	// past the commit.
	if n := WrittenSinceCommit(in, out, map[int]int64{0: 1}, map[int]int64{3: 3}); n != 2 {
		t.Errorf("WrittenSinceCommit = %d, want 2", n)
	}
	// Nothing committed (-1): everything written counts.
	if n := WrittenSinceCommit(in, out, map[int]int64{0: -1}, map[int]int64{3: 3}); n != 3 {
		t.Errorf("WrittenSinceCommit with no commit = %d, want 3", n)
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"a:0", "a:12:pad", "a:aborted:1", ":", "", "a:-1", "a:99999999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		key, seq, ok := parseValue(v)
		if !ok {
			return
		}
		if seq < 0 || !strings.HasPrefix(string(v), key+":") {
			t.Errorf("parseValue(%q) = %q, %d", v, key, seq)
		}
	})
}

func TestBreakDownDuplicates(t *testing.T) {
	// Before the crash (offset 4): a:0 twice; across: a:1 again after;
	// after: a:2 twice after the crash.
	out := recs(3, "a:0", "a:0", "a:1", "a:2", "a:1", "a:2", "a:2", "a:3")
	got := BreakDownDuplicates(out, map[int]int64{3: 4})
	if want := (DuplicateBreakdown{Before: 1, Across: 3, After: 0}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
