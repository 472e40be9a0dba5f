// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import (
	"context"

	"example.com/custom_client/kgen"
)

// Process is the business logic: it turns one inbound record into the records
// to write.
//
//   - in is one record from an inbound client (in.Source is its id), with its
//     value decoded into kgen.InValue. A value that does not decode never
//     reaches Process: the record goes straight to the failure policy.
//   - Returning no outputs finishes the record with nothing written.
//   - Each output is written to every outbound client, or only to the clients
//     whose ids are in its To (kgen.HookID, ...).
//     Several outputs are written in order. The record's offset is committed
//     once every output is acknowledged.
//   - Each output carries in.Time as its timestamp (event time), unless its
//     Timestamp is set.
//   - Returning an error makes the runtime retry the record with backoff, then
//     apply the failure policy from settings.json (dead letter, skip or stop).
//     Return kgen.Permanent(err) for an error a retry cannot cure: the record
//     goes straight to the failure policy.
//   - Process runs concurrently on several workers, so it must be safe for
//     concurrent use. Records with the same key in a partition are processed
//     one at a time, in order.
//   - ctx is cancelled when the processor shuts down.
//   - in.Out(outputs...) returns the outputs without an allocation per
//     record (the slice is reused for the worker's next record); a
//     []kgen.Output literal works as well.
//
// As generated it forwards each record's key, value and headers unchanged.
// Test it in process_test.go.
func Process(ctx context.Context, in kgen.Input) ([]kgen.Output, error) {
	return in.Out(kgen.Output{
		Key:     in.Key,
		Value:   in.Value,
		Headers: in.Headers,
	}), nil
}
