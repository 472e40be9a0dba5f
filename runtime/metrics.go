package runtime

import (
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names follow Prometheus conventions: kgen_<subsystem>_<name>_<unit>,
// counters end in _total, labels are bounded (client ids, topics and
// partitions; never keys).
var (
	descConsumed     = prometheus.NewDesc("kgen_records_consumed_total", "Records fetched and handed to the engine.", nil, nil)
	descProcessed    = prometheus.NewDesc("kgen_records_processed_total", "Records finished: the handler succeeded and every output was acknowledged.", nil, nil)
	descRuns         = prometheus.NewDesc("kgen_handler_runs_total", "Runs of the handler (tries; a retried record runs more than once).", nil, nil)
	descFailed       = prometheus.NewDesc("kgen_records_failed_total", "Failed tries (handler error or panic, decode error, outbound error).", nil, nil)
	descRetried      = prometheus.NewDesc("kgen_records_retried_total", "Tries scheduled again after a failure.", nil, nil)
	descDead         = prometheus.NewDesc("kgen_records_dead_lettered_total", "Records written to the dead-letter topic.", nil, nil)
	descSkipped      = prometheus.NewDesc("kgen_records_skipped_total", "Records dropped by the skip failure policy.", nil, nil)
	descAbandoned    = prometheus.NewDesc("kgen_records_abandoned_total", "Records given up unfinished at shutdown; the next run consumes them again from the last commit.", nil, nil)
	descWritten      = prometheus.NewDesc("kgen_outbound_records_total", "Outputs the outbound client acknowledged (producer ack, file write done).", []string{"client"}, nil)
	descSent         = prometheus.NewDesc("kgen_outbound_sent_total", "Outputs handed to the outbound client, resends included.", []string{"client"}, nil)
	descInFlightRecs = prometheus.NewDesc("kgen_in_flight_records", "Records fetched but not finished.", nil, nil)
	descInFlightB    = prometheus.NewDesc("kgen_in_flight_bytes", "Bytes of records fetched but not finished.", nil, nil)
	descOldest       = prometheus.NewDesc("kgen_oldest_in_flight_seconds", "Age of the oldest unfinished record.", nil, nil)
	descCommitted    = prometheus.NewDesc("kgen_committed_offset", "Last committed offset (next record to read) per partition.", []string{"source", "topic", "partition"}, nil)
	descLag          = prometheus.NewDesc("kgen_consumer_lag_records", "High watermark minus committed offset per partition.", []string{"source", "topic", "partition"}, nil)
	descStalled      = prometheus.NewDesc("kgen_partition_stalled", "1 when the partition's oldest in-flight record is older than the stall timeout.", []string{"source", "topic", "partition"}, nil)
	descFetchFailing = prometheus.NewDesc("kgen_partition_fetch_failing", "1 while the partition's fetches fail (broker unreachable, not leader, undecodable batch).", []string{"source", "topic", "partition"}, nil)
	descStuck        = prometheus.NewDesc("kgen_partition_stuck", "1 while the partition cannot move past a record batch it cannot decode.", []string{"source", "topic", "partition"}, nil)
	descAssigned     = prometheus.NewDesc("kgen_assigned_partitions", "Partitions currently owned.", nil, nil)
	descRebalances   = prometheus.NewDesc("kgen_rebalances_total", "Partition assignments received (group generations).", []string{"source"}, nil)
	descRestarts     = prometheus.NewDesc("kgen_restarts_total", "Inbound or outbound clients restarted after a failure.", []string{"client"}, nil)
	descBuild        = prometheus.NewDesc("kgen_build_info", "Build information; the value is 1.", []string{"version", "runtime_api", "goversion"}, nil)
)

// engineMetrics holds what the hot path records beyond plain counters.
type engineMetrics struct {
	latency    *roundHistogram
	rebalances map[string]*atomic.Int64 // by source id, fixed at start
	restarts   map[string]*atomic.Int64 // by client id, fixed at start
}

func newEngineMetrics(cfg Config) *engineMetrics {
	m := &engineMetrics{
		latency: newRoundHistogram(prometheus.NewDesc("kgen_processing_seconds", "Handler run time per try.", nil, nil),
			prometheus.ExponentialBuckets(0.00001, 4, 12)), // 10µs .. ~40s
		rebalances: map[string]*atomic.Int64{},
		restarts:   map[string]*atomic.Int64{},
	}
	for _, in := range cfg.Inbound {
		m.rebalances[in.ID] = new(atomic.Int64)
		m.restarts[in.ID] = new(atomic.Int64)
	}
	for _, o := range cfg.Outbound {
		m.restarts[o.ID] = new(atomic.Int64)
	}
	return m
}

// Rebalanced counts a new assignment for source (Sources call it).
func (e *Engine) Rebalanced(source string) {
	if c := e.metrics.rebalances[source]; c != nil {
		c.Add(1)
	}
}

// restarted counts a client restart.
func (e *Engine) restarted(client string) {
	if c := e.metrics.restarts[client]; c != nil {
		c.Add(1)
	}
}

// Collector returns a Prometheus collector over the engine's state; it
// reads atomics and lane snapshots at scrape time, so the hot path pays
// only for counter increments and one histogram observation per try.
func (e *Engine) Collector() prometheus.Collector { return engineCollector{e} }

type engineCollector struct{ e *Engine }

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConsumed, descProcessed, descRuns, descFailed, descRetried, descDead,
		descSkipped, descAbandoned, descWritten, descSent, descInFlightRecs, descInFlightB, descOldest, descCommitted, descLag,
		descStalled, descFetchFailing, descStuck, descAssigned, descRebalances, descRestarts, descBuild} {
		ch <- d
	}
	ch <- c.e.metrics.latency.desc
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	st := e.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descConsumed, st.Consumed)
	counter(descProcessed, st.Processed)
	counter(descRuns, st.Runs)
	counter(descFailed, st.Failed)
	counter(descRetried, st.Retried)
	counter(descDead, st.DeadLettered)
	counter(descSkipped, st.Skipped)
	counter(descAbandoned, st.Abandoned)
	for i := range e.sinks {
		counter(descWritten, e.sinks[i].acked.Load(), e.sinks[i].id)
		counter(descSent, e.sinks[i].sent.Load(), e.sinks[i].id)
	}
	gauge(descInFlightRecs, float64(st.InFlightRecords))
	gauge(descInFlightB, float64(st.InFlightBytes))
	gauge(descOldest, e.OldestInFlight().Seconds())
	for src, n := range e.metrics.rebalances {
		counter(descRebalances, n.Load(), src)
	}
	for id, n := range e.metrics.restarts {
		counter(descRestarts, n.Load(), id)
	}
	lanes := e.snapshotLanes()
	gauge(descAssigned, float64(len(lanes)))
	for _, l := range lanes {
		p := strconv.Itoa(int(l.partition))
		committed := l.committed.Load()
		if committed >= 0 {
			gauge(descCommitted, float64(committed), l.source, l.topic, p)
			if hwm := l.hwm.Load(); hwm >= 0 {
				gauge(descLag, float64(max(hwm-committed, 0)), l.source, l.topic, p)
			}
		}
		stalled := 0.0
		if l.stalled.Load() {
			stalled = 1
		}
		gauge(descStalled, stalled, l.source, l.topic, p)
		failing, stuck := 0.0, 0.0
		if pr := l.problem.Load(); pr != nil {
			failing = 1
			if pr.Stuck {
				stuck = 1
			}
		}
		gauge(descFetchFailing, failing, l.source, l.topic, p)
		gauge(descStuck, stuck, l.source, l.topic, p)
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	gauge(descBuild, 1, Version, strconv.Itoa(APIVersion), goVersion)
	ch <- e.metrics.latency.metric()
}

// roundHistogram is a Prometheus histogram that takes many observations of
// one value at once: a worker counts each record of a round with the
// round's mean handler time, in two atomic adds per round rather than a
// histogram observation per record.
type roundHistogram struct {
	desc   *prometheus.Desc
	upper  []float64       // bucket upper bounds, ascending
	counts []atomic.Uint64 // per bucket; the last one is +Inf
	nanos  atomic.Int64    // sum of the observations
}

func newRoundHistogram(desc *prometheus.Desc, upper []float64) *roundHistogram {
	return &roundHistogram{desc: desc, upper: upper, counts: make([]atomic.Uint64, len(upper)+1)}
}

// observeN counts n observations of d.
func (h *roundHistogram) observeN(d time.Duration, n int) {
	v, i := d.Seconds(), 0
	for i < len(h.upper) && v > h.upper[i] {
		i++
	}
	h.counts[i].Add(uint64(n))
	h.nanos.Add(int64(d) * int64(n))
}

// metric returns the histogram's current state. The count is the sum of
// the buckets read, so the two always agree.
func (h *roundHistogram) metric() prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.upper))
	var cum uint64
	for i, le := range h.upper {
		cum += h.counts[i].Load()
		buckets[le] = cum
	}
	cum += h.counts[len(h.upper)].Load()
	return prometheus.MustNewConstHistogram(h.desc, cum, time.Duration(h.nanos.Load()).Seconds(), buckets)
}

func (e *Engine) snapshotLanes() []*lane {
	e.lanesMu.Lock()
	defer e.lanesMu.Unlock()
	out := make([]*lane, 0, len(e.lanes))
	for l := range e.lanes {
		out = append(out, l)
	}
	return out
}

// checkStalls marks lanes whose oldest in-flight record is older than the
// stall timeout, logs each new stall once, and returns how many are stalled.
// kafka-go keeps heartbeating while a handler hangs, so without this a stuck
// partition would look healthy to the group.
func (e *Engine) checkStalls() int {
	n := 0
	for _, l := range e.snapshotLanes() {
		since, ok := l.oldest()
		stalled := ok && time.Since(since) > e.cfg.Flow.StallTimeout
		if stalled {
			n++
		}
		if was := l.stalled.Swap(stalled); stalled && !was {
			e.log.Warn("partition stalled: oldest in-flight record exceeds the stall timeout",
				"source", l.source, "topic", l.topic, "partition", l.partition,
				"age", time.Since(since).Round(time.Millisecond), "stall_timeout", e.cfg.Flow.StallTimeout)
		} else if !stalled && was {
			e.log.Info("partition no longer stalled", "source", l.source, "topic", l.topic, "partition", l.partition)
		}
	}
	return n
}
