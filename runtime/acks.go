package runtime

// Acks acknowledges many written messages at once: the fast path for a
// Sink that learns of several messages' durability together (a produce
// response, an fsync, a flushed buffer). Calling Succeed with their Ackers
// is the same as calling Done(nil) on each, but the engine's own Ackers
// are finished in runs (one partition lock, one budget release per run
// rather than per message).
//
// One goroutine owns an Acks (typically the sink's flusher or response
// reader); it is not safe for concurrent use. The zero value is ready and
// keeps its buffers between calls; it holds nothing between calls.
type Acks struct {
	fin finisher
}

// Succeed calls Done(nil) on every Acker of acks (nil ones are skipped).
// The caller may reuse acks once it returns.
func (a *Acks) Succeed(acks []Acker) {
	ackAll(acks, &a.fin)
}
