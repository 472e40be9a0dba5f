// Command testproc is a processor built directly on the runtime, driven by
// flags, for the runtime's real-broker tests (kill -9, SIGTERM, groups).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	_ "github.com/kgen-dev/kgen/runtime/builtin" // the file writer and the Kafka clients, registered
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

func main() {
	var (
		brokers    = flag.String("brokers", "127.0.0.1:9092", "bootstrap servers")
		group      = flag.String("group", "", "consumer group id")
		topics     = flag.String("topics", "", "comma-separated inbound topics")
		assign     = flag.String("assign", "", "manual assignment: topic:partition,...")
		out        = flag.String("out", "", "outbound topic")
		file       = flag.String("file", "", "file_writer path ({} = worker id) instead of a topic")
		workers    = flag.Int("workers", 4, "workers")
		policy     = flag.String("policy", "stop", "on_failure")
		dlq        = flag.String("dlq", "", "dead-letter topic")
		retries    = flag.Int("max-retries", 2, "max retries")
		poison     = flag.String("poison", "", "values containing this always fail")
		sleep      = flag.Duration("sleep", 0, "handler sleep per record")
		commit     = flag.Duration("commit-interval", 500*time.Millisecond, "commit interval")
		drain      = flag.Duration("drain", 5*time.Second, "drain timeout")
		panicEvery = flag.Int("panic-first-try", 0, "panic on the first try of offsets divisible by N")
		level      = flag.String("log-level", "info", "log level")
		inFlight   = flag.Int("max-in-flight", 0, "in-flight record budget (0: default)")
		hang       = flag.String("hang", "", "the record with this value never finishes (its handler waits for shutdown)")
	)
	flag.Parse()
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(*level))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	kc := &consumer.Config{
		Brokers: strings.Split(*brokers, ","), GroupID: *group, AutoOffsetReset: "earliest",
		CommitInterval: *commit, SessionTimeout: 10 * time.Second, HeartbeatInterval: time.Second,
		MaxWait: 200 * time.Millisecond,
	}
	if *topics != "" {
		kc.Topics = strings.Split(*topics, ",")
	}
	for _, a := range strings.Split(*assign, ",") {
		if a == "" {
			continue
		}
		i := strings.LastIndexByte(a, ':')
		p, _ := strconv.Atoi(a[i+1:])
		kc.Assignments = append(kc.Assignments, consumer.PartitionAssignment{Topic: a[:i], Partition: p})
	}
	cfg := runtime.Config{
		Workers: *workers,
		Inbound: []runtime.InboundConfig{{ID: "in", Name: consumer.Name, Config: kc, MaxRetries: *retries}},
		Failure: runtime.FailurePolicy{OnFailure: runtime.OnFailure(*policy), DeadLetterTopic: *dlq,
			Backoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		Flow:   runtime.FlowConfig{DrainTimeout: *drain, MaxInFlightRecords: *inFlight},
		Logger: log,
	}
	switch {
	case *file != "":
		cfg.Outbound = []runtime.OutboundConfig{{ID: "out", Name: filewriter.Name,
			Config: &filewriter.Config{Path: *file, Append: true, Framing: "lines"}}}
	case *out != "":
		cfg.Outbound = []runtime.OutboundConfig{{ID: "out", Name: producer.Name,
			Config: &producer.Config{Brokers: kc.Brokers, Topic: *out, Acks: -1,
				Linger: 5 * time.Millisecond, BatchSize: 1000, MaxAttempts: 5, AckTimeout: 30 * time.Second}}}
	}
	poisonBytes := []byte(*poison)
	h := func(ctx context.Context, r *runtime.Record) ([]runtime.Output, error) {
		if len(poisonBytes) > 0 && bytes.Contains(r.Value, poisonBytes) {
			return nil, errors.New("poison record")
		}
		if *panicEvery > 0 && r.Offset%int64(*panicEvery) == 0 && r.Attempt == 1 {
			panic(fmt.Sprintf("test panic at offset %d", r.Offset))
		}
		if *hang != "" && string(r.Value) == *hang {
			log.Info("testproc: record hangs until the hard stop", "offset", r.Offset)
			<-ctx.Done() // the hard stop after drain_timeout
		}
		if *sleep > 0 {
			time.Sleep(*sleep)
		}
		return []runtime.Output{{Key: r.Key, Value: r.Value, Headers: r.Headers}}, nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	if err := runtime.Run(ctx, cfg, h); err != nil {
		fmt.Fprintln(os.Stderr, "testproc:", err)
		os.Exit(1)
	}
}
