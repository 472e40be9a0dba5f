// Command kgenpass is the kgen contender: a passthrough processor built on
// runtime.Run, standing for a generated passthrough project (the generated
// main does the same: settings → runtime.Config, a Handler, runtime.Run).
// Each record's key, value and headers go to one kafka_producer outbound
// (acks all, so idempotent; linger 5ms, 1 MiB batches, murmur2) or, with -file, to a
// file_writer (lines, one file per worker).
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/kgen-dev/kgen/bench/internal/contender"
	"github.com/kgen-dev/kgen/runtime"
	_ "github.com/kgen-dev/kgen/runtime/builtin" // the file writer and the Kafka clients, registered
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

func main() {
	inflight := flag.Int64("max-inflight-bytes", 0, "flow budget in bytes (0 = runtime default)")
	commit := flag.Duration("commit-interval", time.Second, "commit interval")
	batchBytes := flag.Int64("batch-bytes", 1<<20, "producer batch_size in bytes")
	acks := flag.Int("acks", -1, "producer acks (-1 all, 0, 1)")
	ctx, f, done := contender.Setup(4)
	err := run(ctx, f, *inflight, *commit, *batchBytes, *acks)
	done()
	if err != nil {
		contender.Fatal(err)
	}
}

func run(ctx context.Context, f contender.Flags, inflight int64, commit time.Duration, batchBytes int64, acks int) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	kc := &consumer.Config{
		Brokers: f.Brokers, GroupID: f.Group, Topics: []string{f.In}, AutoOffsetReset: "earliest",
		CommitInterval: commit, SessionTimeout: 10 * time.Second, HeartbeatInterval: time.Second,
		MaxWait: 200 * time.Millisecond,
	}
	cfg := runtime.Config{
		Workers: f.Workers,
		Inbound: []runtime.InboundConfig{{ID: "in", Name: consumer.Name, Config: kc}},
		Flow:    runtime.FlowConfig{MaxInFlightBytes: inflight},
		Logger:  log,
	}
	if f.File != "" {
		cfg.Outbound = []runtime.OutboundConfig{{ID: "out", Name: filewriter.Name,
			Config: &filewriter.Config{Path: f.File, Append: true, Binary: true, Framing: "lines"}}}
	} else {
		cfg.Outbound = []runtime.OutboundConfig{{ID: "out", Name: producer.Name,
			Config: &producer.Config{Brokers: f.Brokers, Topic: f.Out, Acks: acks,
				Linger: 5 * time.Millisecond, BatchBytes: batchBytes, AckTimeout: 30 * time.Second}}}
	}
	sleep := f.Sleep
	h := func(ctx context.Context, r *runtime.Record) ([]runtime.Output, error) {
		if sleep > 0 {
			time.Sleep(sleep)
		}
		// As the generated process.go does (in.Out): no allocation per record.
		return r.Out(runtime.Output{Key: r.Key, Value: r.Value, Headers: r.Headers}), nil
	}
	return runtime.Run(ctx, cfg, h)
}
