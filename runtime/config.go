package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// OnFailure says what happens to a record whose retries are spent.
type OnFailure string

// The failure policies.
const (
	// DeadLetter writes the record to the dead-letter topic; the offset
	// passes it only once that write is acknowledged.
	DeadLetter OnFailure = "dead_letter"
	// Skip counts and logs the record and moves on.
	Skip OnFailure = "skip"
	// Stop halts the processor with an error; nothing after the record in
	// its partition is committed.
	Stop OnFailure = "stop"
)

// Config is everything the engine needs. Zero values mean the documented
// defaults (see Defaults).
type Config struct {
	// Workers is the processing concurrency, independent of the number of
	// partitions. Default 1.
	Workers  int
	Inbound  []InboundConfig
	Outbound []OutboundConfig
	Failure  FailurePolicy
	Flow     FlowConfig
	// MetricsAddr serves /metrics, /healthz and /readyz when not empty.
	MetricsAddr string
	Logger      *slog.Logger
}

// InboundConfig is one source of records.
type InboundConfig struct {
	ID string
	// Name is the registered client's name (see Register), e.g.
	// "kafka_consumer" or FileReader.
	Name string
	// Config is the client's config: a pointer to its config type (e.g.
	// *consumer.Config of runtime/kafka/consumer), or a json.RawMessage holding the settings'
	// "config" object, which Run decodes with the client's descriptor and
	// checks against its Schema at start. nil is the zero config. Run
	// applies the client's Defaults to it.
	Config any
	// MaxRetries is how many times the handler runs again on a record of
	// this source that it failed before the failure policy applies (the
	// seed's max_retries). Outputs that fail to send are sent again
	// without spending these; see Engine.
	MaxRetries int
}

// OutboundConfig is one sink.
type OutboundConfig struct {
	ID string
	// Name is the registered client's name (see Register), e.g.
	// "kafka_producer", "file_writer" or "stdout".
	Name string
	// Config is the client's config, as InboundConfig.Config.
	Config any
}

// FailurePolicy decides what happens to records that keep failing.
type FailurePolicy struct {
	OnFailure OnFailure
	// DeadLetterTopic receives records that failed on every try, when
	// OnFailure is DeadLetter. It is written with the brokers of the
	// record's inbound client.
	DeadLetterTopic string
	// Backoff is the first retry delay, doubled each try up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// FlowConfig bounds memory and shapes ordering.
type FlowConfig struct {
	// MaxInFlightRecords and MaxInFlightBytes bound the records fetched
	// but not yet finished; fetching pauses at the bound.
	MaxInFlightRecords int
	MaxInFlightBytes   int64
	// UnorderedUnkeyed lets records without a key run in parallel; by
	// default they are ordered within their partition.
	UnorderedUnkeyed bool
	// DrainTimeout bounds how long revoked partitions may finish their
	// in-flight work before it is abandoned; keep it below the session
	// timeout.
	DrainTimeout time.Duration
	// StallTimeout reports a partition whose oldest in-flight record is
	// older than this.
	StallTimeout time.Duration
}

// Defaults returns c with every zero field set to its documented default.
func (c Config) Defaults() Config {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Failure.OnFailure == "" {
		c.Failure.OnFailure = Stop
	}
	if c.Failure.Backoff <= 0 {
		c.Failure.Backoff = 100 * time.Millisecond
	}
	if c.Failure.MaxBackoff <= 0 {
		c.Failure.MaxBackoff = 10 * time.Second
	}
	if c.Flow.MaxInFlightRecords <= 0 {
		c.Flow.MaxInFlightRecords = 20_000
	}
	if c.Flow.MaxInFlightBytes <= 0 {
		c.Flow.MaxInFlightBytes = 64 << 20
	}
	if c.Flow.DrainTimeout <= 0 {
		c.Flow.DrainTimeout = 5 * time.Second
	}
	if c.Flow.StallTimeout <= 0 {
		c.Flow.StallTimeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ErrNoInbound is returned by Validate when no inbound client is configured.
var ErrNoInbound = errors.New("no inbound client")

// Validate reports the first configuration problem the engine cannot run with.
func (c Config) Validate() error {
	if len(c.Inbound) == 0 {
		return ErrNoInbound
	}
	ids := map[string]bool{}
	for i, in := range c.Inbound {
		if in.ID == "" || ids[in.ID] {
			return fmt.Errorf("inbound %d: id %q is empty or used twice", i, in.ID)
		}
		ids[in.ID] = true
	}
	for i, out := range c.Outbound {
		if out.ID == "" || ids[out.ID] {
			return fmt.Errorf("outbound %d: id %q is empty or used twice", i, out.ID)
		}
		ids[out.ID] = true
	}
	if c.Failure.OnFailure == DeadLetter && c.Failure.DeadLetterTopic == "" {
		return errors.New("failure policy dead_letter needs a dead-letter topic")
	}
	return nil
}
