// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import (
	"testing"

	"example.com/webhook/kgen"
)

// TestProcess feeds records to Process through the in-memory runtime (no
// broker, no endpoint) and checks what the webhook client would receive and
// what would be committed. The client itself is tested in webhook/.
func TestProcess(t *testing.T) {
	skip := kgen.TestConfig()
	skip.Failure.OnFailure = "skip"
	cases := []kgen.Case{
		{
			// Records of one id stay in order; the order between ids is
			// not kept (they run in parallel), so one id here.
			Name: "keys each record by its id, in order",
			In: []kgen.Input{
				{Value: []byte(`{"id":"a","n":1}`)},
				{Value: []byte(`{"n":2,"id":"a"}`)},
				{Value: []byte(`{"id":"a","n":3}`)},
			},
			Want: map[string][]kgen.Output{
				kgen.HookID: {
					{Key: []byte("a"), Value: []byte(`{"id":"a","n":1}`)},
					{Key: []byte("a"), Value: []byte(`{"n":2,"id":"a"}`)},
					{Key: []byte("a"), Value: []byte(`{"id":"a","n":3}`)},
				},
			},
			WantCommitted: map[string]int64{"inbound/0": 3},
		},
		{
			Name: "a value without an id goes to the failure policy at once",
			In: []kgen.Input{
				{Value: []byte(`{"id":"a"}`)},
				{Value: []byte(`not json`)},
				{Value: []byte(`{"n":1}`)},
			},
			Want: map[string][]kgen.Output{
				kgen.HookID: {{Key: []byte("a"), Value: []byte(`{"id":"a"}`)}},
			},
			WantCommitted: map[string]int64{"inbound/0": 3},
			Config:        &skip,
		},
		{
			Name: "stop (the settings' policy) stops before the bad record",
			In: []kgen.Input{
				{Value: []byte(`{"id":"a"}`)},
				{Value: []byte(`[]`)},
			},
			Want: map[string][]kgen.Output{
				kgen.HookID: {{Key: []byte("a"), Value: []byte(`{"id":"a"}`)}},
			},
			WantErr: true,
		},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			c.Check(t, Process)
		})
	}
}
