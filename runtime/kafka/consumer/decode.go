package consumer

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/configjson"
	kp "github.com/kgen-dev/kgen/runtime/kafka/internal/kafkapython"
)

// The settings' "config" object of a kafka_consumer, as the schema
// describes it: the seed's keys, and client_config holding kafka-python's
// KafkaConsumer options. Its max_retries is not the client's but the
// inbound entry's (runtime.InboundConfig.MaxRetries): settings reads it.
type (
	configDoc struct {
		Topics           []string            `json:"topics"`
		Partitions       []partitionDoc      `json:"partitions"`
		MaxRecords       *configjson.Int     `json:"max_records"`
		PollTimeout      *configjson.Seconds `json:"poll_timeout"`
		EnableListener   *bool               `json:"enable_listener"`
		CloseTimeout     *configjson.Seconds `json:"close_timeout"`
		CommitIntervalMS *configjson.Int     `json:"commit_interval_ms"`
		ClientConfig     map[string]any      `json:"client_config"`
	}
	partitionDoc struct {
		Topic     string          `json:"topic"`
		Partition configjson.Int  `json:"partition"`
		Offset    *configjson.Int `json:"offset"`
	}
)

// decode is the client's Decode: the settings' "config" object raw onto
// cfg (a *Config), with kafka-python's option names mapped and what the
// schema cannot check reported through d. It writes only what the
// settings say, and kafka-python's bootstrap_servers default (defaults
// apply when the client is built).
func decode(raw json.RawMessage, cfg any, d runtime.Diagnostics) {
	var doc configDoc
	if !kp.Decode(raw, &doc, d) {
		return
	}
	k := cfg.(*Config)
	k.Brokers = []string{kp.DefaultBroker}
	k.Topics = doc.Topics
	cc := "/client_config"
	kp.Apply(d, cc, doc.ClientConfig, options, k, kp.Common{Brokers: &k.Brokers, ClientID: &k.ClientID, Security: (*kp.Security)(&k.Security)})
	eff := defaults(*k)
	kp.CheckSecurity(d, cc, doc.ClientConfig, kp.Security(eff.Security))
	kp.CheckBrokers(d, "", runtime.Inbound, doc.ClientConfig)

	if doc.MaxRecords != nil {
		d.NoEffect("/max_records", "max_records", kp.WhyMaxRecords)
	}
	if doc.CommitIntervalMS != nil {
		if _, ok := doc.ClientConfig["auto_commit_interval_ms"]; ok {
			d.Warnf("/commit_interval_ms", "commit_interval_ms and client_config.auto_commit_interval_ms are both set; commit_interval_ms wins")
		}
		k.CommitInterval = doc.CommitIntervalMS.Millis()
	}
	if doc.PollTimeout != nil {
		k.PollTimeout = time.Duration(*doc.PollTimeout)
	}
	if doc.CloseTimeout != nil {
		k.CloseTimeout = time.Duration(*doc.CloseTimeout)
	}
	if doc.EnableListener != nil {
		d.NoEffect("/enable_listener", "enable_listener", "rebalances are always handled")
	}
	if eff.HeartbeatInterval >= eff.SessionTimeout {
		at := cc
		for _, name := range []string{"session_timeout_ms", "heartbeat_interval_ms"} {
			if _, ok := doc.ClientConfig[name]; ok {
				at = cc + "/" + name
			}
		}
		d.Errorf(at, "heartbeat_interval_ms (%d) must be below session_timeout_ms (%d)", eff.HeartbeatInterval.Milliseconds(), eff.SessionTimeout.Milliseconds())
	}
	if len(doc.Topics) > 0 && k.GroupID == "" {
		d.Errorf("/topics", "consuming topics needs a consumer group: set client_config.group_id (or use \"partitions\" for manual assignment)")
	}
	seen := map[string]int{}
	for i, p := range doc.Partitions {
		ptr := "/partitions/" + strconv.Itoa(i)
		key := p.Topic + "\x00" + strconv.Itoa(int(p.Partition))
		if j, dup := seen[key]; dup {
			d.Errorf(ptr, "partition %d of %q is already assigned at index %d", p.Partition, p.Topic, j)
			continue
		}
		seen[key] = i
		a := PartitionAssignment{Topic: p.Topic, Partition: int(p.Partition)}
		if p.Offset != nil {
			off := int64(*p.Offset)
			a.Offset = &off
		}
		k.Assignments = append(k.Assignments, a)
	}
}

// Options lists the kafka-python KafkaConsumer options client_config
// takes, each with why it has no effect ("" when it is mapped onto
// Config).
func Options() map[string]string { return kp.Table(options) }

// options are KafkaConsumer's own options (kp.CommonOptions are the
// ones it shares with KafkaProducer).
var options = map[string]kp.Option[Config]{
	// Consumer group (ConsumerGroupConfig.ID); required with topics.
	"group_id": {Apply: func(c *Config, v any) error { c.GroupID = v.(string); return nil }},
	// MaxWait; kafka-go's default (10s) would also slow shutdown.
	"fetch_max_wait_ms": {Apply: func(c *Config, v any) (err error) {
		c.MaxWait, err = configjson.Millis(v)
		return err
	}},
	// MinBytes.
	"fetch_min_bytes": {Apply: func(c *Config, v any) (err error) {
		c.MinBytes, err = configjson.Int32(v)
		return err
	}},
	// kafka-go's fetch request holds one partition, so the per-request
	// bound is max_partition_fetch_bytes.
	"fetch_max_bytes": {Ignored: "kafka-go fetches one partition per request; max_partition_fetch_bytes bounds each fetch"},
	// MaxBytes (per partition, per fetch).
	"max_partition_fetch_bytes": {Apply: func(c *Config, v any) (err error) {
		c.MaxBytes, err = configjson.Int32(v)
		return err
	}},
	// Fetches are bounded by fetch_max_wait_ms plus the seed's
	// poll_timeout; group requests and dials have their own timeouts.
	"request_timeout_ms": {Ignored: "a fetch may take fetch_max_wait_ms plus config.poll_timeout; group requests and connections have fixed timeouts (10 s)"},
	// RetryBackoff: the first wait before a failed fetch is tried again,
	// doubled per failure up to 5 s.
	"retry_backoff_ms": {Apply: func(c *Config, v any) (err error) {
		c.RetryBackoff, err = configjson.Millis(v)
		return err
	}},
	// One fetch per partition connection at a time.
	"max_in_flight_requests_per_connection": {Ignored: "the fetcher keeps one fetch in flight per partition, on a connection of its own"},
	// StartOffset when the group has no committed offset; "none" is
	// refused by the schema (kafka-go cannot fail on a missing offset).
	"auto_offset_reset": {Apply: func(c *Config, v any) error { c.AutoOffsetReset = v.(string); return nil }},
	// Committing before processing would lose records on a crash; false
	// is what kgen does anyway, so only true is worth a warning.
	"enable_auto_commit": {
		Ignored: "ignored: kgen commits finished offsets itself; auto commit would commit before processing",
		WarnIf:  func(v any) bool { return v == true },
	},
	// CommitInterval of the runtime's own commit timer.
	"auto_commit_interval_ms": {Apply: func(c *Config, v any) (err error) {
		c.CommitInterval, err = configjson.Millis(v)
		return err
	}},
	// Each record batch's CRC32C is checked unless check_crcs is false
	// (SkipCRCCheck); a mismatch is an undecodable batch.
	"check_crcs": {Apply: func(c *Config, v any) error { c.SkipCRCCheck = !v.(bool); return nil }},
	// PartitionWatchInterval: how often the group looks for partitions
	// added to its topics (and for missing topics that appear).
	"metadata_max_age_ms": {Apply: func(c *Config, v any) (err error) {
		c.PartitionWatchInterval, err = configjson.Millis(v)
		return err
	}},
	// GroupBalancers, by protocol name; sticky is not available.
	"partition_assignment_strategy": {Apply: func(c *Config, v any) error {
		c.Balancers = nil
		for _, b := range v.([]any) {
			name := strings.ToLower(strings.TrimSuffix(b.(string), "PartitionAssignor"))
			if !slices.Contains(c.Balancers, name) {
				c.Balancers = append(c.Balancers, name)
			}
		}
		return nil
	}},
	// kafka-python's poll() returns at most this many records; kgen has no
	// poll loop: whole fetch responses go to the workers, which run one
	// record at a time per key, and processing.max_in_flight_records bounds
	// what is fetched ahead. A cap per fetch would only slow consuming
	// (the seed's max_records is 1: one record per round trip).
	"max_poll_records": {Ignored: kp.WhyMaxRecords},
	// kafka-python sends it as the JoinGroup rebalance timeout.
	"max_poll_interval_ms": {Apply: func(c *Config, v any) (err error) {
		c.RebalanceTimeout, err = configjson.Millis(v)
		return err
	}},
	"session_timeout_ms": {Apply: func(c *Config, v any) (err error) {
		c.SessionTimeout, err = configjson.Millis(v)
		return err
	}},
	"heartbeat_interval_ms": {Apply: func(c *Config, v any) (err error) {
		c.HeartbeatInterval, err = configjson.Millis(v)
		return err
	}},
	// A processor runs until stopped; kafka-python's iterator timeout
	// has no meaning here.
	"consumer_timeout_ms": {Ignored: "the processor consumes until it is stopped"},
	// The fetchers hold their connections while reading.
	"connections_max_idle_ms": {Ignored: "each partition's fetcher keeps its connection open while it reads"},
	"metric_group_prefix":     {Ignored: kp.WhyMetrics},
	// Topics are named, never matched by pattern.
	"exclude_internal_topics": {Ignored: "topics are named explicitly, never matched by a pattern"},
	// read_committed: fetches stop at the last stable offset, records of
	// aborted transactions and transaction markers are dropped, and
	// "latest" starts at the last stable offset.
	"isolation_level": {Apply: func(c *Config, v any) error {
		c.IsolationLevel = v.(string)
		return nil
	}},
	"legacy_iterator": {Ignored: "a kafka-python implementation detail"},
}
