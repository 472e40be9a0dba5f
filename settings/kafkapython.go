package settings

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

// This file maps kafka-python's option names, which the seed's
// client_config uses, onto the runtime's Kafka configuration. The schema
// (kafka_consumer_client_config, kafka_producer_client_config) lists the
// same names with their types; a test keeps the two in step. Types and
// enums are checked by the schema; apply only converts, and reports what
// the schema cannot say.
//
// An option is either mapped (apply) or accepted without effect (ignored
// says why, in a warning). kafka-python options whose values are Python
// objects (serializers, callbacks, ssl_context, socket_options, selector,
// sasl_oauth_token_provider) cannot appear in JSON and are not listed.

// option describes one kafka-python option for a configuration of type T.
type option[T any] struct {
	// ignored, when not empty, is why the option has no effect with
	// kafka-go; the option is accepted with a warning.
	ignored string
	// warnIf limits the warning of an ignored option to some values.
	warnIf func(v any) bool
	// apply sets the mapped field from the option's value (never null).
	apply func(c *T, v any) error
}

// kafkaCommon is what consumer and producer options have in common.
type kafkaCommon struct {
	Brokers  *[]string
	ClientID *string
	Security *rkafka.Security
}

// Reasons shared by several options.
const (
	whySocketBuffers = "kafka-go uses the system's socket buffer sizes"
	whyReconnect     = "kafka-go's reconnect backoff is fixed"
	whyAPIVersion    = "kafka-go negotiates API versions with each broker"
	whyMetrics       = "kgen exports Prometheus metrics instead (see /metrics/address)"
	whyKerberos      = "GSSAPI (Kerberos) is not supported by kafka-go"
	// whyMaxRecords explains max_records and max_poll_records.
	whyMaxRecords = "kgen has no poll loop: each fetch response goes to the workers whole, records run one at a time per key, and processing.max_in_flight_records bounds what is fetched ahead"
)

// commonOptions are the options of both KafkaConsumer and KafkaProducer.
var commonOptions = map[string]option[kafkaCommon]{
	// "host:port,host:port" or an array; kafka-python's default port 9092
	// applies to a host without one.
	"bootstrap_servers": {apply: func(c *kafkaCommon, v any) (err error) {
		*c.Brokers, err = brokers(v)
		return err
	}},
	// Sent to the brokers (Dialer.ClientID / Transport.ClientID).
	"client_id": {apply: func(c *kafkaCommon, v any) error { *c.ClientID = v.(string); return nil }},
	// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL: which of TLS and SASL apply.
	"security_protocol": {apply: func(c *kafkaCommon, v any) error { c.Security.Protocol = v.(string); return nil }},
	// ssl_check_hostname=false skips the host name check only; the
	// certificate chain is still verified (runtime's verifyChain), as in
	// kafka-python. kgen vet warns.
	"ssl_check_hostname": {apply: func(c *kafkaCommon, v any) error { c.Security.InsecureSkipVerify = !v.(bool); return nil }},
	// Trusted certificate authorities (tls.Config.RootCAs).
	"ssl_cafile": {apply: func(c *kafkaCommon, v any) error { c.Security.CAFile = v.(string); return nil }},
	// Client certificate and key (tls.LoadX509KeyPair).
	"ssl_certfile": {apply: func(c *kafkaCommon, v any) error { c.Security.CertFile = v.(string); return nil }},
	"ssl_keyfile":  {apply: func(c *kafkaCommon, v any) error { c.Security.KeyFile = v.(string); return nil }},
	// Go's standard library cannot load an encrypted key.
	"ssl_password": {ignored: "the runtime cannot decrypt a key file; decrypt it and leave ssl_password out"},
	// Certificate revocation lists would need a custom verifier.
	"ssl_crlfile": {ignored: "certificate revocation lists are not supported"},
	// Go's crypto/tls chooses and orders cipher suites itself.
	"ssl_ciphers": {ignored: "Go's TLS chooses the cipher suites"},
	// kafka-go sends ApiVersions and picks versions per broker.
	"api_version":                 {ignored: whyAPIVersion},
	"api_version_auto_timeout_ms": {ignored: whyAPIVersion},
	// kafka-python's metrics registry; kgen has Prometheus metrics.
	"metric_reporters":         {ignored: whyMetrics},
	"metrics_num_samples":      {ignored: whyMetrics},
	"metrics_sample_window_ms": {ignored: whyMetrics},
	// Socket buffer sizes would need a custom dialer.
	"receive_buffer_bytes": {ignored: whySocketBuffers},
	"send_buffer_bytes":    {ignored: whySocketBuffers},
	// kafka-go's reader and transport back off on their own schedule.
	"reconnect_backoff_ms":     {ignored: whyReconnect},
	"reconnect_backoff_max_ms": {ignored: whyReconnect},
	// PLAIN (sasl/plain) or SCRAM-SHA-256/512 (sasl/scram).
	"sasl_mechanism": {apply: func(c *kafkaCommon, v any) error { c.Security.SASLMechanism = v.(string); return nil }},
	// kafka-python uses the plain_* names for SCRAM too, and so do we.
	"sasl_plain_username": {apply: func(c *kafkaCommon, v any) error { c.Security.Username = v.(string); return nil }},
	"sasl_plain_password": {apply: func(c *kafkaCommon, v any) error { c.Security.Password = v.(string); return nil }},
	// Only meaningful for GSSAPI, which kafka-go lacks.
	"sasl_kerberos_service_name": {ignored: whyKerberos},
	"sasl_kerberos_domain_name":  {ignored: whyKerberos},
}

// consumerOptions are KafkaConsumer's own options.
var consumerOptions = map[string]option[consumer.Config]{
	// Consumer group (ConsumerGroupConfig.ID); required with topics.
	"group_id": {apply: func(c *consumer.Config, v any) error { c.GroupID = v.(string); return nil }},
	// MaxWait; kafka-go's default (10s) would also slow shutdown.
	"fetch_max_wait_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.MaxWait, err = millis(v)
		return err
	}},
	// MinBytes.
	"fetch_min_bytes": {apply: func(c *consumer.Config, v any) (err error) {
		c.MinBytes, err = integer(v)
		return err
	}},
	// kafka-go's fetch request holds one partition, so the per-request
	// bound is max_partition_fetch_bytes.
	"fetch_max_bytes": {ignored: "kafka-go fetches one partition per request; max_partition_fetch_bytes bounds each fetch"},
	// MaxBytes (per partition, per fetch).
	"max_partition_fetch_bytes": {apply: func(c *consumer.Config, v any) (err error) {
		c.MaxBytes, err = integer(v)
		return err
	}},
	// Fetches are bounded by fetch_max_wait_ms plus the seed's
	// poll_timeout; group requests and dials have their own timeouts.
	"request_timeout_ms": {ignored: "a fetch may take fetch_max_wait_ms plus config.poll_timeout; group requests and connections have fixed timeouts (10 s)"},
	// RetryBackoff: the first wait before a failed fetch is tried again,
	// doubled per failure up to 5 s.
	"retry_backoff_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.RetryBackoff, err = millis(v)
		return err
	}},
	// One fetch per partition connection at a time.
	"max_in_flight_requests_per_connection": {ignored: "the fetcher keeps one fetch in flight per partition, on a connection of its own"},
	// StartOffset when the group has no committed offset; "none" is
	// refused by the schema (kafka-go cannot fail on a missing offset).
	"auto_offset_reset": {apply: func(c *consumer.Config, v any) error { c.AutoOffsetReset = v.(string); return nil }},
	// Committing before processing would lose records on a crash; false
	// is what kgen does anyway, so only true is worth a warning.
	"enable_auto_commit": {
		ignored: "ignored: kgen commits finished offsets itself; auto commit would commit before processing",
		warnIf:  func(v any) bool { return v == true },
	},
	// CommitInterval of the runtime's own commit timer.
	"auto_commit_interval_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.CommitInterval, err = millis(v)
		return err
	}},
	// Each record batch's CRC32C is checked unless check_crcs is false
	// (SkipCRCCheck); a mismatch is an undecodable batch.
	"check_crcs": {apply: func(c *consumer.Config, v any) error { c.SkipCRCCheck = !v.(bool); return nil }},
	// PartitionWatchInterval: how often the group looks for partitions
	// added to its topics (and for missing topics that appear).
	"metadata_max_age_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.PartitionWatchInterval, err = millis(v)
		return err
	}},
	// GroupBalancers, by protocol name; sticky is not available.
	"partition_assignment_strategy": {apply: func(c *consumer.Config, v any) error {
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
	"max_poll_records": {ignored: whyMaxRecords},
	// kafka-python sends it as the JoinGroup rebalance timeout.
	"max_poll_interval_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.RebalanceTimeout, err = millis(v)
		return err
	}},
	"session_timeout_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.SessionTimeout, err = millis(v)
		return err
	}},
	"heartbeat_interval_ms": {apply: func(c *consumer.Config, v any) (err error) {
		c.HeartbeatInterval, err = millis(v)
		return err
	}},
	// A processor runs until stopped; kafka-python's iterator timeout
	// has no meaning here.
	"consumer_timeout_ms": {ignored: "the processor consumes until it is stopped"},
	// The fetchers hold their connections while reading.
	"connections_max_idle_ms": {ignored: "each partition's fetcher keeps its connection open while it reads"},
	"metric_group_prefix":     {ignored: whyMetrics},
	// Topics are named, never matched by pattern.
	"exclude_internal_topics": {ignored: "topics are named explicitly, never matched by a pattern"},
	// read_committed: fetches stop at the last stable offset, records of
	// aborted transactions and transaction markers are dropped, and
	// "latest" starts at the last stable offset.
	"isolation_level": {apply: func(c *consumer.Config, v any) error {
		c.IsolationLevel = v.(string)
		return nil
	}},
	"legacy_iterator": {ignored: "a kafka-python implementation detail"},
}

// producerOptions are KafkaProducer's own options.
var producerOptions = map[string]option[producer.Config]{
	// RequiredAcks: 0, 1 or -1/"all".
	"acks": {apply: func(c *producer.Config, v any) error {
		if v == "all" {
			c.Acks = -1
			return nil
		}
		n, err := integer(v)
		c.Acks = n
		return err
	}},
	// Compression; null means none.
	"compression_type": {apply: func(c *producer.Config, v any) error { c.Compression = v.(string); return nil }},
	// MaxAttempts = retries + 1: retries counts retries, MaxAttempts
	// attempts. Left out, a batch is retried until its records' delivery
	// deadline (future_timeout), like the Java client's default; the
	// engine's own retries (max_retries) come on top.
	"retries": {apply: func(c *producer.Config, v any) error {
		n, err := integer(v)
		c.MaxAttempts = n + 1
		return err
	}},
	// BatchBytes: the bytes of a partition's batch, as in kafka-python
	// and Java; a record larger than it goes alone in its own batch.
	"batch_size": {apply: func(c *producer.Config, v any) error {
		n, err := integer(v)
		c.BatchBytes = int64(n)
		if err == nil && n == 0 {
			// kafka-python and Java read 0 as "no batching".
			c.BatchBytes = 1
		}
		return err
	}},
	// BatchTimeout; a zero Linger means the runtime's default (5ms), so 0
	// is read as 1ms.
	"linger_ms": {apply: func(c *producer.Config, v any) (err error) {
		c.Linger, err = millis(v)
		c.Linger = max(c.Linger, time.Millisecond)
		return err
	}},
	// Balancer: murmur2 is kafka-python's and Java's keyed partitioning.
	// kafka-python takes a callable; kgen takes a name.
	"partitioner":             {apply: func(c *producer.Config, v any) error { c.Partitioner = v.(string); return nil }},
	"buffer_memory":           {ignored: "the producer has no memory pool; the engine's max_in_flight_bytes bounds memory instead"},
	"connections_max_idle_ms": {ignored: "the producer closes connections idle for 30s (its leader connections and kafka-go's transport alike)"},
	// kafka-python blocks send() up to max_block_ms when its buffer is
	// full; the engine applies backpressure before records reach a sink.
	"max_block_ms": {ignored: "writes wait under the engine's in-flight bounds (processing.max_in_flight_*), not a send timeout"},
	// MaxRequestSize: the largest request, and so the largest record.
	"max_request_size": {apply: func(c *producer.Config, v any) (err error) {
		n, err := integer(v)
		c.MaxRequestSize = int64(n)
		return err
	}},
	"metadata_max_age_ms": {ignored: "kafka-go's transport refreshes metadata on its own schedule"},
	"retry_backoff_ms":    {ignored: "the producer's retry backoff is fixed (100ms doubling to 1s); processing.retry_backoff_ms paces the engine's retries"},
	// RequestTimeout (Writer.WriteTimeout).
	"request_timeout_ms": {apply: func(c *producer.Config, v any) (err error) {
		c.RequestTimeout, err = millis(v)
		return err
	}},
	// MaxInFlight: requests in flight per partition; more than one only
	// with the idempotent producer, at most 5 (kafkaProducer warns).
	"max_in_flight_requests_per_connection": {apply: func(c *producer.Config, v any) (err error) {
		c.MaxInFlight, err = integer(v)
		return err
	}},
	"bootstrap_topics_filter": {ignored: "kafka-go fetches metadata for the topics it writes"},
	// DisableIdempotence; true with acks 0 or 1 is refused in
	// kafkaProducer, once acks is known.
	"enable_idempotence": {apply: func(c *producer.Config, v any) error {
		c.DisableIdempotence = !v.(bool)
		return nil
	}},
}

// errWarning marks an apply result that is a warning, not an error.
type errWarning string

func (e errWarning) Error() string { return string(e) }

func consumerOptionNames() []string { return optionNames(consumerOptions) }
func producerOptionNames() []string { return optionNames(producerOptions) }

func optionNames[T any](own map[string]option[T]) []string {
	names := make([]string, 0, len(own)+len(commonOptions))
	for k := range own {
		names = append(names, k)
	}
	for k := range commonOptions {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// applyOptions applies a client_config object to cfg, in name order.
// base is the pointer of the client_config object.
func applyOptions[T any](cx *converter, base string, opts map[string]any, own map[string]option[T], cfg *T, common kafkaCommon) {
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := opts[name]
		ptr := base + "/" + escapePointer(name)
		var o option[T]
		var err error
		if co, ok := commonOptions[name]; ok {
			o.ignored, o.warnIf = co.ignored, co.warnIf
			if co.apply != nil && v != nil {
				err = co.apply(&common, v)
			}
		} else if o, ok = own[name]; !ok {
			cx.errorf(ptr, "unknown kafka-python option %s", quoteShort(name)) // the schema refuses it first
			continue
		} else if o.apply != nil && v != nil {
			err = o.apply(cfg, v)
		}
		if o.ignored != "" && (o.warnIf == nil || o.warnIf(v)) {
			if strings.HasPrefix(o.ignored, "ignored: ") {
				cx.warnf(ptr, "%s is %s", name, o.ignored)
			} else {
				cx.noEffect(ptr, name, o.ignored)
			}
		}
		var w errWarning
		switch {
		case errors.As(err, &w):
			cx.warnf(ptr, "%s", w)
		case err != nil:
			cx.errorf(ptr, "%v", err)
		}
	}
}

// brokers reads bootstrap_servers.
func brokers(v any) ([]string, error) {
	var items []string
	switch v := v.(type) {
	case string:
		items = strings.Split(v, ",")
	case []any:
		for _, e := range v {
			s, _ := e.(string)
			items = append(items, s)
		}
	}
	var out []string
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		host, port, err := net.SplitHostPort(it)
		if err != nil {
			if strings.Contains(strings.Trim(it, "[]"), ":") && !strings.HasPrefix(it, "[") {
				return nil, fmt.Errorf("got %s; expected host:port (write an IPv6 address as [addr]:port)", quoteShort(it))
			}
			host, port = strings.Trim(it, "[]"), "9092"
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("got %s; expected host:port with a port from 1 to 65535", quoteShort(it))
		}
		if host == "" {
			return nil, fmt.Errorf("got %s; expected host:port with a host", quoteShort(it))
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) == 0 {
		return nil, errors.New("no broker given; expected \"host:port,host:port\"")
	}
	return out, nil
}
