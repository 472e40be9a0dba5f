// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import (
	"testing"

	"example.com/string_to_json/kgen"
)

// TestProcess feeds records to Process through the in-memory runtime (no
// broker) and checks what each outbound client receives and what would be
// committed. Add a case for each behaviour of your Process.
func TestProcess(t *testing.T) {
	cases := []kgen.Case{
		{
			Name: "forwards key, value and headers",
			In: []kgen.Input{
				{
					Key:   []byte("k1"),
					Value: `{"text":"hello"}`,
					Headers: []kgen.Header{{
						Key:   "trace",
						Value: []byte("t1"),
					}},
				},
			},
			Want: map[string][]kgen.Output{
				kgen.ConsoleID: {
					{
						Key:   []byte("k1"),
						Value: convert(t, `{"text":"hello"}`),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t1"),
						}},
					},
				},
			},
			WantCommitted: map[string]int64{"events/0": 1},
		},
		{
			Name: "keeps the order of records with the same key",
			In: []kgen.Input{
				{
					Key:   []byte("k1"),
					Value: `{"text":"first"}`,
					Headers: []kgen.Header{{
						Key:   "trace",
						Value: []byte("t1"),
					}},
				},
				{
					Key:   []byte("k1"),
					Value: `{"text":"second"}`,
					Headers: []kgen.Header{{
						Key:   "trace",
						Value: []byte("t2"),
					}},
				},
			},
			Want: map[string][]kgen.Output{
				kgen.ConsoleID: {
					{
						Key:   []byte("k1"),
						Value: convert(t, `{"text":"first"}`),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t1"),
						}},
					},
					{
						Key:   []byte("k1"),
						Value: convert(t, `{"text":"second"}`),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t2"),
						}},
					},
				},
			},
			WantCommitted: map[string]int64{"events/0": 2},
		},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			c.Check(t, Process)
		})
	}
}

// convert returns v as an outbound value, as Process forwards it.
func convert(t *testing.T, v kgen.InValue) kgen.OutValue {
	t.Helper()
	out, err := kgen.ConvertValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
