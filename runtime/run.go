package runtime

import (
	"context"
	"errors"
)

// APIVersion is the runtime API that generated code is written against.
// Generated code refers to the constant named RequireAPI1 (for version 1),
// so a project paired with an incompatible runtime fails to compile on
// that line, whose comment says what to run.
const APIVersion = 1

// RequireAPI1 exists while the runtime speaks API version 1.
const RequireAPI1 = true

// Version is the kgen version this runtime belongs to; set at link time.
var Version = "dev"

// Run builds the clients named in cfg, runs the engine with h until ctx
// ends or a failure policy stops it, then shuts down gracefully: stop
// fetching, drain in-flight work, flush every outbound client, commit, and
// leave the group.
func Run(ctx context.Context, cfg Config, h Handler) error {
	return errors.New("runtime.Run: not implemented yet")
}

// MemoryResult is what an in-memory run produced.
type MemoryResult struct {
	// Outputs per outbound client id, in the order they were written.
	Outputs map[string][]Message
	// DeadLetters are the records whose retries were spent, with the
	// dead-letter headers.
	DeadLetters []Message
	// Skipped records (failure policy skip).
	Skipped []Record
	// Committed is the next offset that would be committed, per
	// "topic/partition".
	Committed map[string]int64
}

