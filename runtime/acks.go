package runtime

// Acks acknowledges many written messages at once: the fast path for a
// Sink that learns of several messages' durability together (a produce
// response, an fsync, a flushed buffer). Calling Succeed with their Ackers
// is the same as calling Done(nil) on each, but the engine's own Ackers
// are finished in runs (one partition lock, one budget release per run
// rather than per message).
//
// One goroutine owns an Acks (typically the sink's flusher or response
// reader), or a lock guards it: it is not safe for concurrent use. Succeed
// may be called from any goroutine that owns it, including inside the
// sink's Write. The zero value is ready; it keeps its buffers between
// calls but no Acker.
type Acks struct {
	fin finisher
}

// Succeed calls Done(nil) on every Acker of acks (nil ones are skipped).
// The caller may reuse acks once it returns.
func (a *Acks) Succeed(acks []Acker) {
	ackAll(acks, &a.fin)
}
