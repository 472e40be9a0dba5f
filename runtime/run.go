package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kgen-dev/kgen/runtime/internal/backoff"
)

// APIVersion is the runtime API that generated code is written against.
// Generated code refers to the constant named RequireAPI2 (for version 2),
// so a project paired with an incompatible runtime fails to compile on
// that line, whose comment says what to run.
//
// Version 2: clients are registered descriptors (Register, Client);
// InboundConfig and OutboundConfig carry the client's config in Config.
const APIVersion = 2

// RequireAPI2 exists while the runtime speaks API version 2.
const RequireAPI2 = true

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

// newSink builds the outbound client o through its registered descriptor.
func newSink(o OutboundConfig, cfg Config) (Sink, error) {
	c, cc, err := clientConfig(Outbound, o.ID, o.Name, o.Config, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return c.NewSink(cc, clientEnv(o.ID, cfg))
}

// clientEnv is the Env of the client id under cfg (defaults applied).
func clientEnv(id string, cfg Config) Env {
	return Env{ID: id, Workers: cfg.Workers, Flow: cfg.Flow, Logger: cfg.Logger}
}

// supervise runs an inbound client until ctx ends, restarting it with
// backoff and jitter whenever it fails, so the processor never silently
// stops consuming. Restarts are counted and a crash loop shows in /readyz.
func supervise(ctx context.Context, id string, e *Engine, h *health, log *slog.Logger, run func(context.Context) error) {
	b := backoff.New(time.Second, 30*time.Second)
	for {
		err := run(ctx)
		if ctx.Err() != nil || errors.Is(err, ErrSourceDone) {
			return
		}
		if err == nil {
			err = errors.New("returned without error before shutdown")
		}
		e.restarted(id)
		h.clientFailed(id)
		log.Error("inbound client failed; restarting", "client", id, "err", err)
		b.Wait(ctx)
	}
}

// Run builds the clients named in cfg, runs the engine with h until ctx
// ends or a failure policy stops it, then shuts down gracefully: stop
// fetching, drain in-flight work, flush every outbound client, commit, and
// leave the group. It returns nil after a clean shutdown on ctx, or the
// error that stopped the processor.
func Run(ctx context.Context, cfg Config, h Handler) error {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger.With("component", "runtime")
	log.Info("starting", "runtime_version", Version, "api", APIVersion, "workers", cfg.Workers,
		"inbound", len(cfg.Inbound), "outbound", len(cfg.Outbound))

	sinks := map[string]Sink{}
	deadLetters := map[string]Sink{}
	var order []string
	closeSinks := func(budget time.Duration) {
		cctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		for _, id := range order {
			if err := sinks[id].Close(cctx); err != nil {
				log.Warn("outbound close failed", "client", id, "err", err)
			}
		}
		for id, s := range deadLetters {
			if err := s.Close(cctx); err != nil {
				log.Warn("dead-letter client close failed", "client", id, "err", err)
			}
		}
	}
	for _, o := range cfg.Outbound {
		s, err := newSink(o, cfg)
		if err != nil {
			closeSinks(time.Second)
			return err
		}
		sinks[o.ID] = s
		order = append(order, o.ID)
	}
	// Every inbound client's descriptor and config, checked before any
	// client starts.
	type inbound struct {
		desc Client
		cfg  any
	}
	ins := make([]inbound, len(cfg.Inbound))
	for i, in := range cfg.Inbound {
		c, cc, err := clientConfig(Inbound, in.ID, in.Name, in.Config, cfg.Logger)
		if err != nil {
			closeSinks(time.Second)
			return err
		}
		ins[i] = inbound{c, cc}
		if cfg.Failure.OnFailure != DeadLetter || c.DeadLetters == nil {
			continue
		}
		s, err := c.DeadLetters(cc, cfg.Failure.DeadLetterTopic, clientEnv(in.ID, cfg))
		if err != nil {
			closeSinks(time.Second)
			return fmt.Errorf("dead-letter client for %q: %w", in.ID, err)
		}
		deadLetters[in.ID] = s
	}

	engine := newEngine(cfg, h, sinks, order, deadLetters)
	engine.Start()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	hl := &health{e: engine, sinks: sinks, failures: map[string][]time.Time{}}
	if cfg.MetricsAddr != "" {
		stopOps, err := serveOps(runCtx, cfg.MetricsAddr, hl, log)
		if err != nil {
			cancel()
			engine.Stop(context.Background())
			closeSinks(time.Second)
			return err
		}
		defer stopOps()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchStalls(runCtx, engine)
	}()
	srcErr := make(chan error, len(cfg.Inbound))
	var srcWG sync.WaitGroup
	for i, in := range cfg.Inbound {
		src, err := ins[i].desc.NewSource(ins[i].cfg, clientEnv(in.ID, cfg))
		if err != nil {
			cancel()
			srcErr <- err
			break
		}
		hl.addSource(in.ID, src)
		wg.Add(1)
		srcWG.Add(1)
		go func() {
			defer wg.Done()
			defer srcWG.Done()
			supervise(runCtx, in.ID, engine, hl, log, func(ctx context.Context) error { return src.Run(ctx, engine) })
		}()
	}
	// When every source has delivered all it ever will (replayed files),
	// shut down as on a signal.
	allDone := make(chan struct{})
	go func() {
		srcWG.Wait()
		close(allDone)
	}()

	var runErr error
	select {
	case <-runCtx.Done():
	case <-allDone:
		log.Info("every inbound client is done")
	case <-engine.Fatal():
		runErr = engine.Err()
	case runErr = <-srcErr:
	}
	if runErr == nil {
		select {
		case runErr = <-srcErr:
		default:
		}
	}
	log.Info("shutting down: stop fetching, drain, commit")
	cancel()
	wg.Wait()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), cfg.Flow.DrainTimeout)
	engine.Stop(stopCtx)
	stopCancel()
	log.Info("shutting down: flushing outbound clients")
	closeSinks(cfg.Flow.DrainTimeout)
	if runErr == nil {
		runErr = engine.Err()
	}
	failed := runErr != nil && !errors.Is(runErr, context.Canceled)
	finalReport(log, engine.Stats(), failed, cfg.Flow.DrainTimeout)
	if failed {
		log.Error("stopped", "err", runErr)
		return runErr
	}
	return nil
}

// count says n things, in the singular for one.
func count(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// finalReport logs what the run did as one readable line: records
// finished, records abandoned (unfinished, so not committed: the next run
// consumes them again from the last commit, with the finished records
// after them in their partitions) and outputs acknowledged. It
// says "stopped cleanly" only when nothing was abandoned and the run did
// not fail.
func finalReport(log *slog.Logger, st Stats, failed bool, drain time.Duration) {
	finished := st.Processed + st.DeadLettered + st.Skipped
	attrs := []any{"finished", finished, "processed", st.Processed, "dead_lettered", st.DeadLettered,
		"skipped", st.Skipped, "abandoned", st.Abandoned, "finished_uncommitted", st.Uncommitted,
		"outputs_acknowledged", st.Acked}
	done := fmt.Sprintf("%s finished (%d processed, %d dead-lettered, %d skipped), %s acknowledged",
		count(finished, "record"), st.Processed, st.DeadLettered, st.Skipped, count(st.Acked, "output"))
	switch {
	case st.Abandoned > 0:
		why := fmt.Sprintf("still unfinished (outputs unacknowledged or retries pending) when the drain ended or drain_timeout %v ran out", drain)
		if failed {
			why = "unfinished when the failure policy stopped the processor"
		}
		again := "they were not committed and will be consumed again from the last commit"
		if st.Uncommitted > 0 {
			again += fmt.Sprintf(", as will %s after them in their partitions", count(st.Uncommitted, "finished record"))
		}
		log.Warn(fmt.Sprintf("stopped with %s abandoned, %s: %s; %s",
			count(st.Abandoned, "record"), why, again, done), attrs...)
	case failed:
		log.Info("stopped on an error: "+done+", none abandoned", attrs...)
	default:
		log.Info("stopped cleanly: "+done+", none abandoned", attrs...)
	}
}
