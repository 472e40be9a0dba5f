// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import (
	"context"
	"encoding/json"
	"fmt"

	"example.com/webhook/kgen"
)

// Process keys each record by the "id" of its JSON value and forwards the
// value: the webhook client then delivers the records of one id in input
// order (one request in flight per key), and different ids in parallel.
//
// A value that is not a JSON object with a non-empty string "id" can never be
// sent: it goes to the failure policy at once (kgen.Permanent).
//
// See the comment kgen wrote here at "kgen init" (git history) for the whole
// contract of Process; in short: it runs concurrently on several workers, in
// order per key, and the offset passes a record only once every output it
// returns is acknowledged by the webhook (a 2xx answer).
func Process(ctx context.Context, in kgen.Input) ([]kgen.Output, error) {
	var rec struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(in.Value, &rec); err != nil || rec.ID == "" {
		return nil, kgen.Permanent(fmt.Errorf("want a JSON object with a string \"id\", got %.60q", in.Value))
	}
	return in.Out(kgen.Output{
		Key:     []byte(rec.ID),
		Value:   in.Value,
		Headers: in.Headers,
	}), nil
}
