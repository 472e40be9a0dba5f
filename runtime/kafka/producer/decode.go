package producer

import (
	"encoding/json"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/configjson"
	kp "github.com/kgen-dev/kgen/runtime/kafka/internal/kafkapython"
)

// configDoc is the settings' "config" object of a kafka_producer, as the
// schema describes it: the seed's keys, and client_config holding
// kafka-python's KafkaProducer options.
type configDoc struct {
	Topic         string              `json:"topic"`
	FutureTimeout *configjson.Seconds `json:"future_timeout"`
	CloseTimeout  *configjson.Seconds `json:"close_timeout"`
	ClientConfig  map[string]any      `json:"client_config"`
}

// kafkaPythonAcks is kafka-python's acks when the settings give none. It
// is written by decode, not defaults: the zero Acks of a Config is acks=0.
const kafkaPythonAcks = 1

// decode is the client's Decode: the settings' "config" object raw onto
// cfg (a *Config), with kafka-python's option names mapped and what the
// schema cannot check reported through d. It writes only what the
// settings say, and kafka-python's bootstrap_servers and acks defaults
// (defaults apply when the client is built).
func decode(raw json.RawMessage, cfg any, d runtime.Diagnostics) {
	var doc configDoc
	if !kp.Decode(raw, &doc, d) {
		return
	}
	k := cfg.(*Config)
	k.Brokers = []string{kp.DefaultBroker}
	k.Topic = doc.Topic
	k.Acks = kafkaPythonAcks
	cc := "/client_config"
	kp.Apply(d, cc, doc.ClientConfig, options, k, kp.Common{Brokers: &k.Brokers, ClientID: &k.ClientID, Security: (*kp.Security)(&k.Security)})
	eff := defaults(*k)
	kp.CheckSecurity(d, cc, doc.ClientConfig, kp.Security(eff.Security))
	checkIdempotence(d, cc, doc.ClientConfig, eff)
	kp.CheckBrokers(d, "", runtime.Outbound, doc.ClientConfig)
	if doc.FutureTimeout != nil {
		k.AckTimeout = time.Duration(*doc.FutureTimeout)
		if floor := eff.RequestTimeout + eff.Linger; k.AckTimeout < floor {
			d.Warnf("/future_timeout",
				"future_timeout %s is shorter than request_timeout_ms + linger_ms (%s): a record's last request is cut at its deadline, and a record whose request was cut may be written anyway and then again when it is retried; give future_timeout at least %s (default 120s)",
				k.AckTimeout, floor, floor)
		}
	}
	if doc.CloseTimeout != nil {
		k.CloseTimeout = time.Duration(*doc.CloseTimeout)
	}
}

// checkIdempotence checks enable_idempotence against acks and says what
// the producer options that depend on it do (cc is client_config's
// pointer, opts its options, k the effective config).
func checkIdempotence(d runtime.Diagnostics, cc string, opts map[string]any, k Config) {
	enable, set := opts["enable_idempotence"].(bool)
	idempotent := k.Acks == -1 && !k.DisableIdempotence
	switch {
	case set && enable && k.Acks != -1:
		d.Errorf(cc+"/enable_idempotence", "got true with acks %d; the idempotent producer needs acks \"all\" (-1): set acks to \"all\" or leave enable_idempotence out", k.Acks)
		return
	case k.Acks != -1 && !set && opts["acks"] != nil:
		d.Warnf(cc+"/acks", "acks %d leaves the idempotent producer off: a batch retried after a lost response is written twice, and each partition has one request in flight (slower); acks \"all\" turns it on and waits for every in-sync replica", k.Acks)
	}
	if _, ok := opts["max_in_flight_requests_per_connection"]; ok {
		switch {
		case !idempotent && k.MaxInFlight > 1:
			d.NoEffect(cc+"/max_in_flight_requests_per_connection", "max_in_flight_requests_per_connection",
				"without the idempotent producer (acks \"all\", enable_idempotence not false) one produce request per partition is in flight at a time, which keeps records in order")
		case idempotent && k.MaxInFlight > 5:
			d.Warnf(cc+"/max_in_flight_requests_per_connection",
				"max_in_flight_requests_per_connection %d is above 5, the most the broker's duplicate detection covers: 5 requests per partition are in flight", k.MaxInFlight)
		}
	}
}

// Options lists the kafka-python KafkaProducer options client_config
// takes, each with why it has no effect ("" when it is mapped onto
// Config).
func Options() map[string]string { return kp.Table(options) }

// options are KafkaProducer's own options (kp.CommonOptions are the
// ones it shares with KafkaConsumer).
var options = map[string]kp.Option[Config]{
	// RequiredAcks: 0, 1 or -1/"all".
	"acks": {Apply: func(c *Config, v any) error {
		if v == "all" {
			c.Acks = -1
			return nil
		}
		n, err := configjson.Int32(v)
		c.Acks = n
		return err
	}},
	// Compression; null means none.
	"compression_type": {Apply: func(c *Config, v any) error { c.Compression = v.(string); return nil }},
	// MaxAttempts = retries + 1: retries counts retries, MaxAttempts
	// attempts. Left out, a batch is retried until its records' delivery
	// deadline (future_timeout), like the Java client's default; the
	// engine's own retries (max_retries) come on top.
	"retries": {Apply: func(c *Config, v any) error {
		n, err := configjson.Int32(v)
		c.MaxAttempts = n + 1
		return err
	}},
	// BatchBytes: the bytes of a partition's batch, as in kafka-python
	// and Java; a record larger than it goes alone in its own batch.
	"batch_size": {Apply: func(c *Config, v any) error {
		n, err := configjson.Int32(v)
		c.BatchBytes = int64(n)
		if err == nil && n == 0 {
			// kafka-python and Java read 0 as "no batching".
			c.BatchBytes = 1
		}
		return err
	}},
	// BatchTimeout; a zero Linger means the runtime's default (5ms), so 0
	// is read as 1ms.
	"linger_ms": {Apply: func(c *Config, v any) (err error) {
		c.Linger, err = configjson.Millis(v)
		c.Linger = max(c.Linger, time.Millisecond)
		return err
	}},
	// Balancer: murmur2 is kafka-python's and Java's keyed partitioning.
	// kafka-python takes a callable; kgen takes a name.
	"partitioner":             {Apply: func(c *Config, v any) error { c.Partitioner = v.(string); return nil }},
	"buffer_memory":           {Ignored: "the producer has no memory pool; the engine's max_in_flight_bytes bounds memory instead"},
	"connections_max_idle_ms": {Ignored: "the producer closes connections idle for 30s (its leader connections and kafka-go's transport alike)"},
	// kafka-python blocks send() up to max_block_ms when its buffer is
	// full; the engine applies backpressure before records reach a sink.
	"max_block_ms": {Ignored: "writes wait under the engine's in-flight bounds (processing.max_in_flight_*), not a send timeout"},
	// MaxRequestSize: the largest request, and so the largest record.
	"max_request_size": {Apply: func(c *Config, v any) (err error) {
		n, err := configjson.Int32(v)
		c.MaxRequestSize = int64(n)
		return err
	}},
	"metadata_max_age_ms": {Ignored: "kafka-go's transport refreshes metadata on its own schedule"},
	"retry_backoff_ms":    {Ignored: "the producer's retry backoff is fixed (100ms doubling to 1s); processing.retry_backoff_ms paces the engine's retries"},
	// RequestTimeout (Writer.WriteTimeout).
	"request_timeout_ms": {Apply: func(c *Config, v any) (err error) {
		c.RequestTimeout, err = configjson.Millis(v)
		return err
	}},
	// MaxInFlight: requests in flight per partition; more than one only
	// with the idempotent producer, at most 5 (decode warns).
	"max_in_flight_requests_per_connection": {Apply: func(c *Config, v any) (err error) {
		c.MaxInFlight, err = configjson.Int32(v)
		return err
	}},
	"bootstrap_topics_filter": {Ignored: "kafka-go fetches metadata for the topics it writes"},
	// DisableIdempotence; true with acks 0 or 1 is refused in
	// decode, once acks is known.
	"enable_idempotence": {Apply: func(c *Config, v any) error {
		c.DisableIdempotence = !v.(bool)
		return nil
	}},
}
