package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/kgen-dev/kgen/runtime"
	_ "github.com/kgen-dev/kgen/runtime/builtin" // the built-in clients, registered
	"github.com/kgen-dev/kgen/runtime/filereader"
	"github.com/kgen-dev/kgen/runtime/filewriter"
)

// Defaults the conversion sets explicitly, where kafka-go's own differ
// from kafka-python's (kafka-go-notes §7) or the seed relied on them.
const (
	defaultBroker            = "localhost:9092" // kafka-python bootstrap_servers
	defaultMaxRetries        = 3
	defaultSessionTimeout    = 10 * time.Second
	defaultHeartbeat         = 3 * time.Second
	defaultRebalanceTimeout  = 30 * time.Second
	defaultMaxWait           = 500 * time.Millisecond
	defaultMaxBytes          = 1 << 20
	defaultCommitInterval    = 5 * time.Second
	defaultAcks              = 1
	defaultLinger            = 5 * time.Millisecond
	defaultMaxRequestSize    = 1 << 20
	defaultBatchSize         = 16384 // kafka-python's batch_size, bytes
	defaultMaxInFlight       = 5     // kafka-python's max_in_flight_requests_per_connection
	defaultRequestTimeout    = 30 * time.Second
	defaultAutoOffsetReset   = "latest"
	defaultPartitioner       = "murmur2"
	inlineSecretExplanation  = "a secret written inline ends up in the settings file and in every copy of it; write it as \"${ENV_VAR}\""
	singularInboundID        = "inbound"
	singularOutboundID       = "outbound"
	payloadSchemaURLTemplate = "kgen:///payload/%s.schema.json"
)

// Documents: the settings as the schema describes them, for decoding
// after validation.
type (
	fileDoc struct {
		Version     *jsonInt    `json:"settings_version"`
		Workers     *jsonInt    `json:"num_of_workers"`
		InboundOne  *clientDoc  `json:"inbound_client_settings"`
		OutboundOne *clientDoc  `json:"outbound_client_settings"`
		Inbound     []clientDoc `json:"inbound_clients"`
		Outbound    []clientDoc `json:"outbound_clients"`
		Processing  struct {
			OnFailure         string   `json:"on_failure"`
			DeadLetterTopic   string   `json:"dead_letter_topic"`
			RetryBackoffMS    *jsonInt `json:"retry_backoff_ms"`
			RetryBackoffMaxMS *jsonInt `json:"retry_backoff_max_ms"`
			MaxInFlight       jsonInt  `json:"max_in_flight_records"`
			MaxInFlightBytes  jsonInt  `json:"max_in_flight_bytes"`
			UnorderedUnkeyed  bool     `json:"unordered_unkeyed"`
			DrainTimeoutMS    *jsonInt `json:"drain_timeout_ms"`
			StallTimeoutMS    *jsonInt `json:"stall_timeout_ms"`
		} `json:"processing"`
		Payload struct {
			Inbound  *payloadDoc `json:"inbound"`
			Outbound *payloadDoc `json:"outbound"`
		} `json:"payload"`
		Metrics struct {
			Address string `json:"address"`
		} `json:"metrics"`
		Logging struct {
			Level  string `json:"level"`
			Format string `json:"format"`
		} `json:"logging"`
	}
	clientDoc struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Custom       bool   `json:"custom"`
		ConfigSchema string `json:"config_schema"`
		Config       any    `json:"config"`
	}
	payloadDoc struct {
		Type string `json:"type"`
	}
	kafkaConsumerDoc struct {
		Topics           []string       `json:"topics"`
		Partitions       []partitionDoc `json:"partitions"`
		MaxRecords       *jsonInt       `json:"max_records"`
		PollTimeout      *jsonSeconds   `json:"poll_timeout"`
		EnableListener   *bool          `json:"enable_listener"`
		CloseTimeout     *jsonSeconds   `json:"close_timeout"`
		CommitIntervalMS *jsonInt       `json:"commit_interval_ms"`
		ClientConfig     map[string]any `json:"client_config"`
	}
	partitionDoc struct {
		Topic     string   `json:"topic"`
		Partition jsonInt  `json:"partition"`
		Offset    *jsonInt `json:"offset"`
	}
	kafkaProducerDoc struct {
		Topic         string         `json:"topic"`
		FutureTimeout *jsonSeconds   `json:"future_timeout"`
		CloseTimeout  *jsonSeconds   `json:"close_timeout"`
		ClientConfig  map[string]any `json:"client_config"`
	}
)

// converter turns a schema-valid document into Settings, adding the
// checks a schema cannot express.
type converter struct {
	diags   []pending
	fromEnv map[string]bool // pointers of strings that came from ${ENV}
	// file is the settings file's name, as given to Parse.
	file string
	opts Options
	// written are strings with a ${VAR} as the file wrote them.
	written map[string]string
	// deferred are the pointers of strings whose ${ENV} is read when the
	// processor starts: what they name cannot be checked now.
	deferred map[string]bool
	// payloadSchemas are the payload schemas as written (compact JSON).
	payloadSchemas map[string]json.RawMessage
	// pointers of each client, and of its topics, for cross checks.
	inboundPtr   []string
	outboundPtr  []string
	inboundTopic map[string]topicUse
}

// topicUse is where a consumed topic is named, and with which brokers.
type topicUse struct {
	ptr     string
	brokers []string
}

func (cx *converter) errorf(ptr, format string, args ...any) {
	cx.diags = append(cx.diags, errorAt(ptr, fmt.Sprintf(format, args...)))
}

func (cx *converter) warnf(ptr, format string, args ...any) {
	cx.diags = append(cx.diags, pending{Diagnostic: Diagnostic{Severity: Warning, Pointer: ptr, Message: fmt.Sprintf(format, args...)}})
}

// noEffect warns that option name, set at ptr, has no effect here, and why;
// reports group these warnings (see Summarize).
func (cx *converter) noEffect(ptr, name, why string) {
	cx.diags = append(cx.diags, pending{Diagnostic: Diagnostic{Severity: Warning, Pointer: ptr, NoEffect: name,
		Message: fmt.Sprintf("%s has no effect: %s", name, why)}})
}

func (cx *converter) convert(tree any) *Settings {
	var doc fileDoc
	if err := decodeInto(tree, &doc); err != nil {
		cx.errorf("", "decoding settings: %v", err)
		return nil
	}
	s := &Settings{Version: 1, LogLevel: "info", LogFormat: "text"}
	if doc.Version != nil {
		s.Version = int(*doc.Version)
	}
	cfg := &s.Runtime
	cfg.Workers = 1
	if doc.Workers != nil {
		cfg.Workers = int(*doc.Workers) // at most 10000 (the schema's maximum)
	}

	cx.inboundTopic = map[string]topicUse{}
	type named struct {
		ptr string
		doc clientDoc
	}
	var ins, outs []named
	if doc.InboundOne != nil {
		d := *doc.InboundOne
		d.ID = singularInboundID
		ins = append(ins, named{"/inbound_client_settings", d})
	}
	for i, d := range doc.Inbound {
		ins = append(ins, named{"/inbound_clients/" + strconv.Itoa(i), d})
	}
	if doc.OutboundOne != nil {
		d := *doc.OutboundOne
		d.ID = singularOutboundID
		outs = append(outs, named{"/outbound_client_settings", d})
	}
	for i, d := range doc.Outbound {
		outs = append(outs, named{"/outbound_clients/" + strconv.Itoa(i), d})
	}
	for _, c := range ins {
		cfg.Inbound = append(cfg.Inbound, cx.inbound(c.ptr, c.doc))
		cx.inboundPtr = append(cx.inboundPtr, c.ptr)
	}
	for _, c := range outs {
		cfg.Outbound = append(cfg.Outbound, cx.outbound(c.ptr, c.doc))
		cx.outboundPtr = append(cx.outboundPtr, c.ptr)
	}
	cx.checkIDs(cfg)
	cx.checkLoops(cfg)
	cx.checkFiles(cfg)

	p := doc.Processing
	cfg.Failure = runtime.FailurePolicy{
		OnFailure:       runtime.OnFailure(p.OnFailure),
		DeadLetterTopic: p.DeadLetterTopic,
		Backoff:         msPtr(p.RetryBackoffMS),
		MaxBackoff:      msPtr(p.RetryBackoffMaxMS),
	}
	if cfg.Failure.OnFailure == "" {
		cfg.Failure.OnFailure = runtime.Stop
	}
	cfg.Flow = runtime.FlowConfig{
		MaxInFlightRecords: int(p.MaxInFlight),
		MaxInFlightBytes:   int64(p.MaxInFlightBytes),
		UnorderedUnkeyed:   p.UnorderedUnkeyed,
		DrainTimeout:       msPtr(p.DrainTimeoutMS),
		StallTimeout:       msPtr(p.StallTimeoutMS),
	}
	cx.checkFailure(cfg)
	if b, m := cfg.Failure.Backoff, cfg.Failure.MaxBackoff; b > 0 && m > 0 && m < b {
		cx.errorf("/processing/retry_backoff_max_ms", "got %d; expected at least retry_backoff_ms (%d)", m.Milliseconds(), b.Milliseconds())
	}
	for _, in := range cfg.Inbound {
		if k := kafkaIn(in); k != nil && cfg.Flow.DrainTimeout > 0 && k.Assignments == nil && cfg.Flow.DrainTimeout >= k.SessionTimeout {
			cx.warnf("/processing/drain_timeout_ms", "drain timeout %s is not below the session timeout %s of %s: a slow drain can cost the group its membership", cfg.Flow.DrainTimeout, k.SessionTimeout, in.ID)
		}
	}

	s.InPayload = cx.payload("inbound", doc.Payload.Inbound)
	s.OutPayload = cx.payload("outbound", doc.Payload.Outbound)
	cfg.MetricsAddr = doc.Metrics.Address
	if host, _, err := net.SplitHostPort(cfg.MetricsAddr); err == nil && !cx.deferred["/metrics/address"] {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			cx.warnf("/metrics/address", "%s listens on every network interface: /metrics and /readyz (which names topics, clients and errors) are open to the network; bind to 127.0.0.1 or an internal address unless that is intended", quoteShort(cfg.MetricsAddr))
		}
	}
	if doc.Logging.Level != "" {
		s.LogLevel = doc.Logging.Level
	}
	if doc.Logging.Format != "" {
		s.LogFormat = doc.Logging.Format
	}
	return s
}

func (cx *converter) inbound(ptr string, d clientDoc) runtime.InboundConfig {
	in := runtime.InboundConfig{ID: d.ID, Name: d.Name, MaxRetries: defaultMaxRetries}
	base := ptr + "/config"
	// max_retries belongs to the inbound entry (InboundConfig.MaxRetries),
	// not to the client: it is taken out of the config before the client
	// decodes it.
	if m, ok := d.Config.(map[string]any); ok {
		if v, set := m["max_retries"]; set {
			n, err := int64Of(v)
			if err != nil {
				cx.errorf(base+"/max_retries", "%v", err)
			}
			in.MaxRetries = int(n)
			m = maps.Clone(m)
			delete(m, "max_retries")
			d.Config = m
		}
	}
	if d.Custom {
		in.Config = cx.custom(ptr, d)
		return in
	}
	in.Config = cx.clientConfig(base, runtime.Inbound, d)
	if f := fileIn(in); f != nil && f.Path != "-" && !cx.deferred[base+"/file"] {
		if _, err := os.Stat(f.Path); errors.Is(err, fs.ErrNotExist) {
			cx.warnf(base+"/file", "file %s does not exist (yet)", quoteShort(f.Path))
		}
	}
	return in
}

func (cx *converter) outbound(ptr string, d clientDoc) runtime.OutboundConfig {
	out := runtime.OutboundConfig{ID: d.ID, Name: d.Name}
	base := ptr + "/config"
	if d.Custom {
		out.Config = cx.custom(ptr, d)
		return out
	}
	out.Config = cx.clientConfig(base, runtime.Outbound, d)
	if f := fileOut(out); f != nil {
		dir := filepath.Dir(strings.ReplaceAll(f.Path, "{}", "0"))
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && !cx.deferred[base+"/file"] {
			cx.warnf(base+"/file", "directory %s does not exist: the file writer cannot create %s", quoteShort(dir), quoteShort(filepath.Base(f.Path)))
		}
	}
	return out
}

// converters are the clients whose settings conversion still lives here
// rather than in their descriptor's Decode.
var converters = map[string]func(cx *converter, base, id string, config any) any{
	runtime.KafkaConsumer: func(cx *converter, base, id string, config any) any {
		var c kafkaConsumerDoc
		if !cx.decode(base, config, &c) {
			return nil
		}
		k := cx.kafkaConsumer(base, c)
		cx.checkBrokers(base, "inbound", id, c.ClientConfig)
		return k
	},
	runtime.KafkaProducer: func(cx *converter, base, id string, config any) any {
		var c kafkaProducerDoc
		if !cx.decode(base, config, &c) {
			return nil
		}
		k := cx.kafkaProducer(base, c)
		cx.checkBrokers(base, "outbound", id, c.ClientConfig)
		return k
	},
}

// clientConfig converts the "config" object of the client d (at base) to
// its registered descriptor's config: through the descriptor's Decode,
// through the converter above, or else by plain JSON decoding onto the
// client's config with unknown fields refused. It writes only what the
// settings say: Run applies the client's defaults. nil when the config
// cannot be decoded (the problems are reported).
func (cx *converter) clientConfig(base string, dir runtime.Direction, d clientDoc) any {
	c, ok := runtime.Lookup(d.Name)
	if !ok || c.Direction != dir {
		cx.errorf(strings.TrimSuffix(base, "/config")+"/name", "no %s client %q is registered", dir, d.Name)
		return nil
	}
	cfg := c.NewConfig()
	if d.Config == nil {
		return cfg
	}
	if conv, ok := converters[d.Name]; ok && c.Decode == nil {
		if v := conv(cx, base, d.ID, d.Config); v != nil {
			return v
		}
		return nil
	}
	raw, err := json.Marshal(d.Config)
	if err != nil {
		cx.errorf(base, "%v", err)
		return nil
	}
	if c.Decode != nil {
		// Kept even when Decode reports errors (the settings are refused
		// then), so that the checks after it still report their findings.
		c.Decode(raw, cfg, clientDiagnostics{cx, base})
		return cfg
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		cx.errorf(base, "%v", err)
		return nil
	}
	return cfg
}

// clientDiagnostics reports a client's Decode problems at their pointer
// under base, the client's "config" object.
type clientDiagnostics struct {
	cx   *converter
	base string
}

func (d clientDiagnostics) Errorf(ptr, format string, args ...any) {
	d.cx.errorf(d.base+ptr, format, args...)
}

func (d clientDiagnostics) Warnf(ptr, format string, args ...any) {
	d.cx.warnf(d.base+ptr, format, args...)
}

func (cx *converter) decode(ptr string, v any, dst any) bool {
	if err := decodeInto(v, dst); err != nil {
		cx.errorf(ptr, "%v", err)
		return false
	}
	return true
}

func (cx *converter) kafkaConsumer(base string, d kafkaConsumerDoc) *runtime.KafkaConsumerConfig {
	k := &runtime.KafkaConsumerConfig{
		Brokers:           []string{defaultBroker},
		Topics:            d.Topics,
		AutoOffsetReset:   defaultAutoOffsetReset,
		SessionTimeout:    defaultSessionTimeout,
		HeartbeatInterval: defaultHeartbeat,
		RebalanceTimeout:  defaultRebalanceTimeout,
		MinBytes:          1,
		MaxBytes:          defaultMaxBytes,
		MaxWait:           defaultMaxWait,
		CommitInterval:    defaultCommitInterval,
		IsolationLevel:    "read_uncommitted",
		Balancers:         []string{"range", "roundrobin"},
		Security:          runtime.Security{Protocol: "PLAINTEXT"},
	}
	cc := base + "/client_config"
	applyOptions(cx, cc, d.ClientConfig, consumerOptions, k, kafkaCommon{&k.Brokers, &k.ClientID, &k.Security})
	cx.checkSecurity(cc, d.ClientConfig, k.Security)

	if d.MaxRecords != nil {
		cx.noEffect(base+"/max_records", "max_records", whyMaxRecords)
	}
	if d.CommitIntervalMS != nil {
		if _, ok := d.ClientConfig["auto_commit_interval_ms"]; ok {
			cx.warnf(base+"/commit_interval_ms", "commit_interval_ms and client_config.auto_commit_interval_ms are both set; commit_interval_ms wins")
		}
		k.CommitInterval = msPtr(d.CommitIntervalMS)
	}
	if d.PollTimeout != nil {
		k.PollTimeout = time.Duration(*d.PollTimeout)
	}
	if d.CloseTimeout != nil {
		k.CloseTimeout = time.Duration(*d.CloseTimeout)
	}
	if d.EnableListener != nil {
		cx.noEffect(base+"/enable_listener", "enable_listener", "rebalances are always handled")
	}
	if k.HeartbeatInterval >= k.SessionTimeout {
		at := cc
		for _, name := range []string{"session_timeout_ms", "heartbeat_interval_ms"} {
			if _, ok := d.ClientConfig[name]; ok {
				at = cc + "/" + name
			}
		}
		cx.errorf(at, "heartbeat_interval_ms (%d) must be below session_timeout_ms (%d)", k.HeartbeatInterval.Milliseconds(), k.SessionTimeout.Milliseconds())
	}

	for _, t := range d.Topics {
		if _, dup := cx.inboundTopic[t]; !dup {
			cx.inboundTopic[t] = topicUse{ptr: base + "/topics", brokers: k.Brokers}
		}
	}
	if len(d.Topics) > 0 && k.GroupID == "" {
		cx.errorf(base+"/topics", "consuming topics needs a consumer group: set client_config.group_id (or use \"partitions\" for manual assignment)")
	}
	seen := map[string]int{}
	for i, p := range d.Partitions {
		ptr := base + "/partitions/" + strconv.Itoa(i)
		key := p.Topic + "\x00" + strconv.Itoa(int(p.Partition))
		if j, dup := seen[key]; dup {
			cx.errorf(ptr, "partition %d of %q is already assigned at index %d", p.Partition, p.Topic, j)
			continue
		}
		seen[key] = i
		a := runtime.PartitionAssignment{Topic: p.Topic, Partition: int(p.Partition)}
		if p.Offset != nil {
			off := int64(*p.Offset)
			a.Offset = &off
		}
		k.Assignments = append(k.Assignments, a)
		if _, dup := cx.inboundTopic[p.Topic]; !dup {
			cx.inboundTopic[p.Topic] = topicUse{ptr: ptr + "/topic", brokers: k.Brokers}
		}
	}
	return k
}

func (cx *converter) kafkaProducer(base string, d kafkaProducerDoc) *runtime.KafkaProducerConfig {
	k := &runtime.KafkaProducerConfig{
		Brokers:        []string{defaultBroker},
		Topic:          d.Topic,
		Acks:           defaultAcks,
		MaxAttempts:    0, // no retries count: retried until future_timeout
		BatchBytes:     defaultBatchSize,
		MaxRequestSize: defaultMaxRequestSize,
		MaxInFlight:    defaultMaxInFlight,
		Linger:         defaultLinger,
		Compression:    "none",
		RequestTimeout: defaultRequestTimeout,
		Partitioner:    defaultPartitioner,
		Security:       runtime.Security{Protocol: "PLAINTEXT"},
	}
	cc := base + "/client_config"
	applyOptions(cx, cc, d.ClientConfig, producerOptions, k, kafkaCommon{&k.Brokers, &k.ClientID, &k.Security})
	cx.checkSecurity(cc, d.ClientConfig, k.Security)
	cx.producerIdempotence(cc, d.ClientConfig, k)
	if d.FutureTimeout != nil {
		k.AckTimeout = time.Duration(*d.FutureTimeout)
		if floor := k.RequestTimeout + k.Linger; k.AckTimeout < floor {
			cx.warnf(base+"/future_timeout",
				"future_timeout %s is shorter than request_timeout_ms + linger_ms (%s): a record's last request is cut at its deadline, and a record whose request was cut may be written anyway and then again when it is retried; give future_timeout at least %s (default 120s)",
				k.AckTimeout, floor, floor)
		}
	}
	if d.CloseTimeout != nil {
		k.CloseTimeout = time.Duration(*d.CloseTimeout)
	}
	return k
}

// producerIdempotence checks enable_idempotence against acks and says
// what the producer options that depend on it do (cc is client_config's
// pointer, opts its options).
func (cx *converter) producerIdempotence(cc string, opts map[string]any, k *runtime.KafkaProducerConfig) {
	enable, set := opts["enable_idempotence"].(bool)
	idempotent := k.Acks == -1 && !k.DisableIdempotence
	switch {
	case set && enable && k.Acks != -1:
		cx.errorf(cc+"/enable_idempotence", "got true with acks %d; the idempotent producer needs acks \"all\" (-1): set acks to \"all\" or leave enable_idempotence out", k.Acks)
		return
	case k.Acks != -1 && !set && opts["acks"] != nil:
		cx.warnf(cc+"/acks", "acks %d leaves the idempotent producer off: a batch retried after a lost response is written twice, and each partition has one request in flight (slower); acks \"all\" turns it on and waits for every in-sync replica", k.Acks)
	}
	if _, ok := opts["max_in_flight_requests_per_connection"]; ok {
		switch {
		case !idempotent && k.MaxInFlight > 1:
			cx.noEffect(cc+"/max_in_flight_requests_per_connection", "max_in_flight_requests_per_connection",
				"without the idempotent producer (acks \"all\", enable_idempotence not false) one produce request per partition is in flight at a time, which keeps records in order")
		case idempotent && k.MaxInFlight > 5:
			cx.warnf(cc+"/max_in_flight_requests_per_connection",
				"max_in_flight_requests_per_connection %d is above 5, the most the broker's duplicate detection covers: 5 requests per partition are in flight", k.MaxInFlight)
		}
	}
}

// checkBrokers warns when a Kafka client's client_config sets no
// bootstrap_servers: the client then connects to kafka-python's default,
// localhost:9092, which is right on a laptop and wrong everywhere else.
func (cx *converter) checkBrokers(base, dir, id string, opts map[string]any) {
	if v, ok := opts["bootstrap_servers"]; ok && v != nil {
		return
	}
	at := base
	if opts != nil {
		at = base + "/client_config"
	}
	cx.warnf(at, "bootstrap_servers is not set: %s client %q connects to %s (kafka-python's default); set client_config.bootstrap_servers", dir, id, defaultBroker)
}

// checkSecurity reports what a schema cannot: options that contradict the
// protocol, and secrets written inline.
func (cx *converter) checkSecurity(base string, opts map[string]any, sec runtime.Security) {
	sasl := strings.HasPrefix(sec.Protocol, "SASL_")
	tls := strings.HasSuffix(sec.Protocol, "SSL")
	if sasl {
		if sec.SASLMechanism == "" {
			cx.errorf(base+"/security_protocol", "%s needs sasl_mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", sec.Protocol)
		}
		if sec.Username == "" || sec.Password == "" {
			cx.errorf(base+"/security_protocol", "%s needs sasl_plain_username and sasl_plain_password", sec.Protocol)
		}
	}
	for name, v := range opts {
		if v == nil {
			continue
		}
		ptr := base + "/" + escapePointer(name)
		switch {
		case !sasl && strings.HasPrefix(name, "sasl_") && name != "sasl_plain_password":
			cx.warnf(ptr, "%s is ignored: security_protocol is %s", name, sec.Protocol)
		case !tls && strings.HasPrefix(name, "ssl_") && name != "ssl_password":
			cx.warnf(ptr, "%s is ignored: security_protocol is %s", name, sec.Protocol)
		}
		if name == "sasl_plain_password" || name == "ssl_password" {
			if s, _ := v.(string); s != "" && !cx.fromEnv[ptr] {
				cx.warnf(ptr, "%s", inlineSecretExplanation)
			}
		}
	}
	if tls && sec.InsecureSkipVerify {
		cx.warnf(base+"/ssl_check_hostname", "ssl_check_hostname is false: the broker certificate's chain is still verified, but not that it was issued for the broker's host name; anyone holding a certificate from a trusted authority can pose as the broker")
	}
	if sasl && !tls && !cx.deferred[base+"/security_protocol"] {
		switch strings.ToUpper(sec.SASLMechanism) {
		case "PLAIN":
			cx.warnf(base+"/security_protocol", "SASL PLAIN over SASL_PLAINTEXT sends the user name and password in clear text: use SASL_SSL")
		case "SCRAM-SHA-256", "SCRAM-SHA-512":
			cx.warnf(base+"/security_protocol", "SASL_PLAINTEXT: the %s exchange hides the password, but every record and the session travel in clear text and can be read or changed: use SASL_SSL", sec.SASLMechanism)
		}
	}
	if (sec.CertFile == "") != (sec.KeyFile == "") {
		cx.errorf(base, "ssl_certfile and ssl_keyfile go together: set both or neither")
	}
}

// checkIDs refuses a client id used twice (across both directions).
func (cx *converter) checkIDs(cfg *runtime.Config) {
	first := map[string]string{}
	check := func(id, ptr string) {
		at := ptr
		if !strings.HasSuffix(ptr, "_settings") {
			at = ptr + "/id"
		}
		if prev, dup := first[id]; dup {
			cx.errorf(at, "client id %q is already used by %s", id, prev)
			return
		}
		first[id] = ptr
	}
	for i, in := range cfg.Inbound {
		check(in.ID, cx.inboundPtr[i])
	}
	for i, out := range cfg.Outbound {
		check(out.ID, cx.outboundPtr[i])
	}
}

// checkLoops warns about a processor that writes to a topic it reads on
// the same cluster: every output comes back as input.
func (cx *converter) checkLoops(cfg *runtime.Config) {
	for i, out := range cfg.Outbound {
		if kafkaOut(out) == nil {
			continue
		}
		use, ok := cx.inboundTopic[kafkaOut(out).Topic]
		if !ok || !overlap(use.brokers, kafkaOut(out).Brokers) {
			continue
		}
		cx.warnf(cx.outboundPtr[i]+"/config/topic", "topic %q is also consumed (%s): every record written comes back as input and the processor loops forever", kafkaOut(out).Topic, use.ptr)
	}
}

// checkFiles refuses a file that two clients would share: two writers (a
// per-worker path counts as each of its files), a writer and the file
// reader, or a writer and the settings file itself. Paths whose ${VAR} is
// read at start are left out.
func (cx *converter) checkFiles(cfg *runtime.Config) {
	type use struct{ ptr, what string }
	seen := map[string]use{}
	canon := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return filepath.Clean(p)
	}
	if cx.file != "" {
		seen[canon(cx.file)] = use{"", "the settings file itself"}
	}
	claim := func(path, ptr, what string, write bool) {
		key := canon(path)
		prev, dup := seen[key]
		if !dup {
			seen[key] = use{ptr, what}
			return
		}
		if !write && prev.what != "written by the file writer" {
			return // reading a file twice, or the settings, harms nothing
		}
		by := prev.what
		if prev.ptr != "" {
			by += " (" + prev.ptr + ")"
		}
		cx.errorf(ptr, "file %s is also %s: two clients (or a client and the settings) must not share a file", quoteShort(path), by)
	}
	for i, in := range cfg.Inbound {
		ptr := cx.inboundPtr[i] + "/config/file"
		if fileIn(in) != nil && fileIn(in).Path != "-" && !cx.deferred[ptr] {
			claim(fileIn(in).Path, ptr, "read by the file reader", false)
		}
	}
	for i, out := range cfg.Outbound {
		ptr := cx.outboundPtr[i] + "/config/file"
		if fileOut(out) == nil || cx.deferred[ptr] {
			continue
		}
		if !strings.Contains(fileOut(out).Path, "{}") {
			claim(fileOut(out).Path, ptr, "written by the file writer", true)
			continue
		}
		for w := range max(cfg.Workers, 1) {
			before := len(cx.diags)
			claim(strings.ReplaceAll(fileOut(out).Path, "{}", strconv.Itoa(w)), ptr, "written by the file writer", true)
			if len(cx.diags) > before {
				break // one error per client
			}
		}
	}
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func (cx *converter) checkFailure(cfg *runtime.Config) {
	f := cfg.Failure
	if f.OnFailure != runtime.DeadLetter {
		if f.DeadLetterTopic != "" {
			cx.warnf("/processing/dead_letter_topic", "dead_letter_topic is ignored: on_failure is %q, not \"dead_letter\"", f.OnFailure)
		}
		return
	}
	if f.DeadLetterTopic == "" {
		cx.errorf("/processing/on_failure", "on_failure \"dead_letter\" needs processing.dead_letter_topic")
		return
	}
	if use, ok := cx.inboundTopic[f.DeadLetterTopic]; ok {
		cx.errorf("/processing/dead_letter_topic", "dead-letter topic %q is also consumed (%s): failed records would be processed again", f.DeadLetterTopic, use.ptr)
	}
	for i, in := range cfg.Inbound {
		if _, custom := in.Config.(json.RawMessage); custom {
			cx.warnf("/processing/on_failure", "kgen cannot tell whether custom client %s (%s) writes dead letters (runtime.Client.DeadLetters): without that, the first record the policy dead-letters stops the processor", cx.inboundPtr[i], in.Name)
			continue
		}
		if kafkaIn(in) == nil {
			cx.errorf("/processing/on_failure", "on_failure \"dead_letter\" writes with the brokers of the record's inbound client, and %s (%s) has none", cx.inboundPtr[i], in.Name)
		}
	}
}

// payload reads one payload type and checks its schema compiles.
func (cx *converter) payload(dir string, d *payloadDoc) Payload {
	p := Payload{Kind: Bytes}
	if d == nil {
		return p
	}
	p.Kind = PayloadKind(d.Type)
	raw, ok := cx.payloadSchemas[dir]
	if !ok {
		return p
	}
	p.Schema = raw
	if at, err := compilePayloadSchema(dir, raw); err != nil {
		cx.errorf("/payload/"+dir+"/schema"+at, "not a valid JSON Schema: %v", err)
	}
	cx.diags = append(cx.diags, checkPayloadNames("/payload/"+dir+"/schema", raw)...)
	return p
}

// compilePayloadSchema compiles a payload schema, refusing references
// outside it. A problem is returned with its pointer inside the schema.
func compilePayloadSchema(dir string, raw json.RawMessage) (at string, err error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: only references inside the schema are allowed", s)
	}
	url := fmt.Sprintf(payloadSchemaURLTemplate, dir)
	if err := c.AddResource(url, bytes.NewReader(raw)); err != nil {
		return "", err
	}
	if _, err = c.Compile(url); err == nil {
		return "", nil
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) { // refused by the meta-schema: report the first leaf
		for len(ve.Causes) > 0 {
			ve = ve.Causes[0]
		}
		return ve.InstanceLocation, errors.New(ve.Message)
	}
	var se *jsonschema.SchemaError
	if errors.As(err, &se) && se.Err != nil {
		err = se.Err
	}
	return "", errors.New(strings.TrimPrefix(err.Error(), "jsonschema: "))
}

// kafkaIn is in's Kafka consumer config, nil for another client.
func kafkaIn(in runtime.InboundConfig) *runtime.KafkaConsumerConfig {
	k, _ := in.Config.(*runtime.KafkaConsumerConfig)
	return k
}

// fileIn is in's file reader config, nil for another client.
func fileIn(in runtime.InboundConfig) *filereader.Config {
	f, _ := in.Config.(*filereader.Config)
	return f
}

// kafkaOut is out's Kafka producer config, nil for another client.
func kafkaOut(out runtime.OutboundConfig) *runtime.KafkaProducerConfig {
	k, _ := out.Config.(*runtime.KafkaProducerConfig)
	return k
}

// fileOut is out's file writer config, nil for another client.
func fileOut(out runtime.OutboundConfig) *filewriter.Config {
	f, _ := out.Config.(*filewriter.Config)
	return f
}
