// Package chaos proves kgen's delivery promises on a three-node Kafka cluster
// while brokers fail: a processor scaffolded by `kgen init` (what a user runs)
// moves keyed records from an input topic to an output topic, a fault lands
// mid-stream, and an independent verifier reads the output topic (never the
// processor's counters) and checks, per key:
//
//  1. nothing lost: every input's sequence number appears in the output;
//  2. order: each next output is the key's next sequence number, or a rewind
//     (a replayed suffix after a crash or a lost generation) that then
//     continues contiguously up to where the key had got (A B C | B C is fine;
//     A B A and A C B are not);
//  3. the key's last output is its newest input (a compacted topic
//     downstream keeps the right value);
//
// and counts duplicates. The tests need the cluster of `make cluster-up`
// (scripts/kafka.sh cluster-up) and run with `make test-chaos`; the verifier
// itself (this file) is plain Go, tested broker-free.
//
// Record values are "KEY:SEQ" or "KEY:SEQ:PADDING", SEQ counting from 0 per
// key. An input value whose second field is not a number (the transactional
// test's aborted records are "KEY:aborted:...") is not an input the output
// may carry: it counts as unexpected when it shows up there.
package chaos

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// Record is one record of a topic, as read back.
type Record struct {
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
}

// Report is the verifier's finding over one run.
type Report struct {
	Inputs  int // input records with a sequence number
	Records int // output records read
	Keys    int // distinct input keys

	Lost            int // input sequence numbers missing from the output
	Duplicates      int // output records beyond the first of their sequence number
	InputDuplicates int // input records beyond the first of their sequence number (not the processor's doing)
	InputDisorder   int // input records whose new sequence number is not the key's next (the test's own input is broken)
	OrderViolations int // outputs breaking the order rule (2), plus keys whose replay stopped short
	StaleLast       int // keys whose last output is not their newest input
	Unexpected      int // outputs that are no input: unknown key or sequence, aborted records, bad values

	// Examples holds the first problems found, one line each, for the log.
	Examples []string
}

// maxExamples bounds Report.Examples.
const maxExamples = 12

// OK reports whether the properties hold: nothing lost, in order, every
// key's last output its newest input, nothing unexpected. Duplicates are
// allowed here; callers bound them where a property says so.
func (r Report) OK() bool {
	return r.InputDisorder == 0 && r.Lost == 0 && r.OrderViolations == 0 && r.StaleLast == 0 && r.Unexpected == 0
}

// Line is the report as one table line for the test log.
func (r Report) Line() string {
	return fmt.Sprintf("inputs=%d outputs=%d keys=%d lost=%d duplicates=%d (input duplicates %d, input disorder %d) order_violations=%d stale_last=%d unexpected=%d",
		r.Inputs, r.Records, r.Keys, r.Lost, r.Duplicates, r.InputDuplicates, r.InputDisorder, r.OrderViolations, r.StaleLast, r.Unexpected)
}

func (r *Report) example(format string, args ...any) {
	if len(r.Examples) < maxExamples {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

// parseValue splits "KEY:SEQ[:...]" into the key and the sequence number; ok
// is false when the value has another form.
func parseValue(v []byte) (key string, seq int, ok bool) {
	i := bytes.IndexByte(v, ':')
	if i < 0 {
		return "", 0, false
	}
	rest := v[i+1:]
	if j := bytes.IndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	n, err := strconv.Atoi(string(rest))
	if err != nil || n < 0 {
		return "", 0, false
	}
	return string(v[:i]), n, true
}

// inputKey is what the input says about one key.
type inputKey struct {
	seqs   map[int]bool
	newest int // the sequence number of the key's last input record
}

// sortByLog orders records by partition, then offset: each key lives in one
// partition, so this is each key's order in the log.
func sortByLog(rs []Record) []Record {
	out := append([]Record(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

// Verify checks outputs against inputs (both as read from their topics).
// A key's outputs must all be in one output partition, which keyed
// partitioning guarantees; their order is the log's.
func Verify(inputs, outputs []Record) Report {
	var r Report
	in := map[string]*inputKey{}
	for _, rec := range sortByLog(inputs) {
		key, seq, ok := parseValue(rec.Value)
		if !ok || key != string(rec.Key) {
			continue // e.g. an aborted transaction's record
		}
		r.Inputs++
		k := in[key]
		if k == nil {
			k = &inputKey{seqs: map[int]bool{}, newest: -1}
			in[key] = k
		}
		if k.seqs[seq] {
			r.InputDuplicates++
			continue
		}
		if seq != k.newest+1 {
			r.InputDisorder++
			r.example("input of key %s: %d follows %d", key, seq, k.newest)
		}
		k.seqs[seq] = true
		k.newest = seq
	}
	r.Keys = len(in)

	outs := map[string][]int{}
	for _, rec := range sortByLog(outputs) {
		r.Records++
		key, seq, ok := parseValue(rec.Value)
		if !ok || key != string(rec.Key) || in[key] == nil || !in[key].seqs[seq] {
			r.Unexpected++
			r.example("unexpected output at partition %d offset %d: key %q value %.60q", rec.Partition, rec.Offset, rec.Key, rec.Value)
			continue
		}
		outs[key] = append(outs[key], seq)
	}

	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		k := in[key]
		seqs := outs[key]
		seen := map[int]bool{}
		prev, top := -1, -1
		for i, s := range seqs {
			if seen[s] {
				r.Duplicates++
			}
			seen[s] = true
			switch {
			case s == prev+1:
			case s <= prev: // a rewind: a replayed suffix starts
			default:
				r.OrderViolations++
				if prev < 0 {
					r.example("key %s: first output is %d, want 0", key, s)
				} else {
					r.example("key %s: output %d follows %d (outputs %s)", key, s, prev, around(seqs, i))
				}
			}
			prev = s
			top = max(top, s)
		}
		if prev < top {
			r.OrderViolations++
			r.example("key %s: the last output %d is a replay that stopped short of %d (outputs %s)", key, prev, top, around(seqs, len(seqs)-1))
		}
		missing := 0
		for s := range k.seqs {
			if !seen[s] {
				missing++
			}
		}
		if missing > 0 {
			r.Lost += missing
			r.example("key %s: %d of %d inputs missing from the output", key, missing, len(k.seqs))
		}
		if prev != k.newest {
			r.StaleLast++
			r.example("key %s: last output %d, newest input %d", key, prev, k.newest)
		}
	}
	return r
}

// around shows seqs near index i.
func around(seqs []int, i int) string {
	lo, hi := max(0, i-4), min(len(seqs), i+3)
	s := fmt.Sprint(seqs[lo:hi])
	if lo > 0 {
		s = "…" + s
	}
	if hi < len(seqs) {
		s += "…"
	}
	return s
}

// DuplicatesAcross counts outputs at or after boundary (per partition: the
// output's end offsets when a run stopped) whose sequence number was already
// written before it: what a second run repeated of the first one.
func DuplicatesAcross(outputs []Record, boundary map[int]int64) int {
	before := map[string]bool{}
	var after []string
	for _, rec := range outputs {
		key, seq, ok := parseValue(rec.Value)
		if !ok {
			continue
		}
		id := key + ":" + strconv.Itoa(seq)
		if rec.Offset < boundary[rec.Partition] {
			before[id] = true
		} else {
			after = append(after, id)
		}
	}
	n := 0
	for _, id := range after {
		if before[id] {
			n++
		}
	}
	return n
}

// WrittenSinceCommit counts the inputs at or past the group's committed
// offsets (per input partition) whose output was written before boundary
// (per output partition): the records in flight since the last commit that a
// crash at that moment makes a restart process again.
func WrittenSinceCommit(inputs, outputs []Record, committed map[int]int64, boundary map[int]int64) int {
	written := map[string]bool{}
	for _, rec := range outputs {
		if rec.Offset >= boundary[rec.Partition] {
			continue
		}
		if key, seq, ok := parseValue(rec.Value); ok {
			written[key+":"+strconv.Itoa(seq)] = true
		}
	}
	n := 0
	for _, rec := range inputs {
		c, ok := committed[rec.Partition]
		if ok && c >= 0 && rec.Offset < c {
			continue
		}
		if key, seq, ok := parseValue(rec.Value); ok && written[key+":"+strconv.Itoa(seq)] {
			n++
		}
	}
	return n
}

// DuplicateBreakdown sorts the duplicates of a run with one crash by where
// their copies are: both before the crash boundary (the first run repeated
// itself), both after it (the restart repeated itself), or across it (the
// restart repeated the first run: what property 5 bounds).
type DuplicateBreakdown struct{ Before, After, Across int }

// BreakDownDuplicates counts the duplicates of outputs by DuplicateBreakdown.
func BreakDownDuplicates(outputs []Record, boundary map[int]int64) DuplicateBreakdown {
	var d DuplicateBreakdown
	before, after := map[string]int{}, map[string]int{}
	for _, rec := range outputs {
		key, seq, ok := parseValue(rec.Value)
		if !ok {
			continue
		}
		id := key + ":" + strconv.Itoa(seq)
		if rec.Offset < boundary[rec.Partition] {
			before[id]++
		} else {
			after[id]++
		}
	}
	for _, n := range before {
		d.Before += n - 1
	}
	for id, n := range after {
		if before[id] > 0 {
			d.Across += n
		} else {
			d.After += n - 1
		}
	}
	return d
}
