// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import (
	"testing"

	"example.com/custom_client/kgen"
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
					Value: []byte("hello"),
					Headers: []kgen.Header{{
						Key:   "trace",
						Value: []byte("t1"),
					}},
				},
			},
			Want: map[string][]kgen.Output{
				kgen.HookID: {
					{
						Key:   []byte("k1"),
						Value: []byte("hello"),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t1"),
						}},
					},
				},
				kgen.ConsoleID: {
					{
						Key:   []byte("k1"),
						Value: []byte("hello"),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t1"),
						}},
					},
				},
			},
			WantCommitted: map[string]int64{"records/0": 1},
		},
		{
			Name: "keeps the order of records with the same key",
			In: []kgen.Input{
				{
					Key:   []byte("k1"),
					Value: []byte("first"),
					Headers: []kgen.Header{{
						Key:   "trace",
						Value: []byte("t1"),
					}},
				},
				{
					Key:   []byte("k1"),
					Value: []byte("second"),
					Headers: []kgen.Header{{
						Key:   "trace",
						Value: []byte("t2"),
					}},
				},
			},
			Want: map[string][]kgen.Output{
				kgen.HookID: {
					{
						Key:   []byte("k1"),
						Value: []byte("first"),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t1"),
						}},
					},
					{
						Key:   []byte("k1"),
						Value: []byte("second"),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t2"),
						}},
					},
				},
				kgen.ConsoleID: {
					{
						Key:   []byte("k1"),
						Value: []byte("first"),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t1"),
						}},
					},
					{
						Key:   []byte("k1"),
						Value: []byte("second"),
						Headers: []kgen.Header{{
							Key:   "trace",
							Value: []byte("t2"),
						}},
					},
				},
			},
			WantCommitted: map[string]int64{"records/0": 2},
		},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			c.Check(t, Process)
		})
	}
}
