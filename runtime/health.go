package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readier is implemented by clients that can tell whether they work
// (e.g. the Kafka producer: its last write succeeded).
type readier interface {
	Ready() error
}

// health decides readiness: partitions assigned, every inbound and
// outbound client ready (the Kafka consumer: group joined, input topics
// present), every partition fetching, no partition stalled, no client in
// a crash loop, no fatal stop. Each reason names what and why, and clears
// by itself once the cause is gone.
type health struct {
	e     *Engine
	sinks map[string]Sink

	mu       sync.Mutex
	failures map[string][]time.Time // recent client failures, for crash loops
	sources  map[string]Source
}

// fetchFailuresNotReady is how many consecutive failed fetches make a
// partition count against readiness: one failure is a leader moving.
const fetchFailuresNotReady = 3

func (h *health) addSource(id string, s Source) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sources == nil {
		h.sources = map[string]Source{}
	}
	h.sources[id] = s
}

func (h *health) clientFailed(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	recent := h.failures[id][:0]
	for _, t := range h.failures[id] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	h.failures[id] = append(recent, now)
}

// problems lists why the processor is not ready (none: ready).
func (h *health) problems() []string {
	var out []string
	if err := h.e.Err(); err != nil {
		out = append(out, "stopped: "+err.Error())
	}
	lanes := h.e.snapshotLanes()
	if len(lanes) == 0 {
		out = append(out, "no partitions assigned")
	}
	h.mu.Lock()
	var srcIDs []string
	for id := range h.sources {
		srcIDs = append(srcIDs, id)
	}
	sort.Strings(srcIDs)
	for _, id := range srcIDs {
		if r, ok := h.sources[id].(readier); ok {
			if err := r.Ready(); err != nil {
				out = append(out, fmt.Sprintf("inbound %s: %v", id, err))
			}
		}
	}
	h.mu.Unlock()
	out = append(out, h.e.PartitionProblems()...)
	for id, s := range h.sinks {
		if r, ok := s.(readier); ok {
			if err := r.Ready(); err != nil {
				out = append(out, fmt.Sprintf("outbound %s: %v", id, err))
			}
		}
	}
	for _, l := range lanes {
		if l.stalled.Load() {
			out = append(out, fmt.Sprintf("partition %s/%d stalled", l.topic, l.partition))
		}
	}
	h.mu.Lock()
	for id, ts := range h.failures {
		n := 0
		for _, t := range ts {
			if time.Since(t) < time.Minute {
				n++
			}
		}
		if n >= 3 {
			out = append(out, fmt.Sprintf("client %s crash loop: %d restarts in the last minute", id, n))
		}
	}
	h.mu.Unlock()
	return out
}

func (h *health) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if p := h.problems(); len(p) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:")
		fmt.Fprintln(w, strings.Join(p, "\n"))
		return
	}
	fmt.Fprintln(w, "ready")
}

// serveOps serves /metrics, /healthz and /readyz on addr until ctx ends.
// It returns once the listener is up, so a bad address fails the start.
func serveOps(ctx context.Context, addr string, h *health, log *slog.Logger) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.e.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", h.readyz)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %q: %w", addr, err)
	}
	srv := opsServer(mux)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server failed", "err", err)
		}
	}()
	log.Info("serving metrics and health", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

// watchStalls runs the stall watchdog until ctx ends.
func watchStalls(ctx context.Context, e *Engine) {
	every := min(max(e.cfg.Flow.StallTimeout/4, 100*time.Millisecond), 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.checkStalls()
		case <-ctx.Done():
			return
		}
	}
}

// PartitionProblems lists the partitions whose fetching is stuck (the
// same bytes fail every time) or has failed fetchFailuresNotReady times in
// a row, each with its offset, reason and error, sorted by topic and
// partition: what /readyz reports about the inbound partitions. A source
// reports them through its lanes (FetchReporter).
func (e *Engine) PartitionProblems() []string {
	lanes := e.snapshotLanes()
	sort.Slice(lanes, func(i, j int) bool {
		if lanes[i].topic != lanes[j].topic {
			return lanes[i].topic < lanes[j].topic
		}
		return lanes[i].partition < lanes[j].partition
	})
	var out []string
	for _, l := range lanes {
		p := l.problem.Load()
		if p == nil || (!p.Stuck && p.Failures < fetchFailuresNotReady) {
			continue
		}
		if p.Stuck {
			out = append(out, fmt.Sprintf("partition %s/%d stuck at offset %d: %s (%d tries since %s): %s",
				l.topic, l.partition, p.Offset, p.Reason, p.Failures, p.Since.UTC().Format(time.RFC3339), p.Err))
			continue
		}
		out = append(out, fmt.Sprintf("partition %s/%d: fetch failing at offset %d: %s (%d tries since %s): %s",
			l.topic, l.partition, p.Offset, p.Reason, p.Failures, p.Since.UTC().Format(time.RFC3339), p.Err))
	}
	return out
}
