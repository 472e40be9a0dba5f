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

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/kgen-dev/kgen/runtime"
	_ "github.com/kgen-dev/kgen/runtime/builtin" // the built-in clients, registered
	"github.com/kgen-dev/kgen/runtime/configjson"
	"github.com/kgen-dev/kgen/runtime/filereader"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

const (
	// defaultMaxRetries is max_retries when the settings give none: a
	// setting of the inbound entry, not of its client.
	defaultMaxRetries        = 3
	inlineSecretExplanation  = "a secret written inline ends up in the settings file and in every copy of it; write it as \"${ENV_VAR}\""
	singularInboundID        = "inbound"
	singularOutboundID       = "outbound"
	payloadSchemaURLTemplate = "kgen:///payload/%s.schema.json"
)

// Documents: the settings as the schema describes them, for decoding
// after validation.
type (
	fileDoc struct {
		Version     *configjson.Int `json:"settings_version"`
		Workers     *configjson.Int `json:"num_of_workers"`
		InboundOne  *clientDoc      `json:"inbound_client_settings"`
		OutboundOne *clientDoc      `json:"outbound_client_settings"`
		Inbound     []clientDoc     `json:"inbound_clients"`
		Outbound    []clientDoc     `json:"outbound_clients"`
		Processing  struct {
			OnFailure         string          `json:"on_failure"`
			DeadLetterTopic   string          `json:"dead_letter_topic"`
			RetryBackoffMS    *configjson.Int `json:"retry_backoff_ms"`
			RetryBackoffMaxMS *configjson.Int `json:"retry_backoff_max_ms"`
			MaxInFlight       configjson.Int  `json:"max_in_flight_records"`
			MaxInFlightBytes  configjson.Int  `json:"max_in_flight_bytes"`
			UnorderedUnkeyed  bool            `json:"unordered_unkeyed"`
			DrainTimeoutMS    *configjson.Int `json:"drain_timeout_ms"`
			StallTimeoutMS    *configjson.Int `json:"stall_timeout_ms"`
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
	if err := configjson.DecodeInto(tree, &doc); err != nil {
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
		Backoff:         p.RetryBackoffMS.Millis(),
		MaxBackoff:      p.RetryBackoffMaxMS.Millis(),
	}
	if cfg.Failure.OnFailure == "" {
		cfg.Failure.OnFailure = runtime.Stop
	}
	cfg.Flow = runtime.FlowConfig{
		MaxInFlightRecords: int(p.MaxInFlight),
		MaxInFlightBytes:   int64(p.MaxInFlightBytes),
		UnorderedUnkeyed:   p.UnorderedUnkeyed,
		DrainTimeout:       p.DrainTimeoutMS.Millis(),
		StallTimeout:       p.StallTimeoutMS.Millis(),
	}
	cx.checkFailure(cfg)
	if b, m := cfg.Failure.Backoff, cfg.Failure.MaxBackoff; b > 0 && m > 0 && m < b {
		cx.errorf("/processing/retry_backoff_max_ms", "got %d; expected at least retry_backoff_ms (%d)", m.Milliseconds(), b.Milliseconds())
	}
	for _, in := range cfg.Inbound {
		if k := kafkaIn(in); k != nil && cfg.Flow.DrainTimeout > 0 && k.Assignments == nil {
			session := effective(in.Name, k).(*consumer.Config).SessionTimeout
			if cfg.Flow.DrainTimeout >= session {
				cx.warnf("/processing/drain_timeout_ms", "drain timeout %s is not below the session timeout %s of %s: a slow drain can cost the group its membership", cfg.Flow.DrainTimeout, session, in.ID)
			}
		}
	}

	s.InPayload = cx.payload("inbound", doc.Payload.Inbound)
	s.OutPayload = cx.payload("outbound", doc.Payload.Outbound)
	cfg.MetricsAddr = doc.Metrics.Address
	if host, _, err := net.SplitHostPort(cfg.MetricsAddr); err == nil && !cx.deferred["/metrics/address"] {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			cx.warnf("/metrics/address", "%s listens on every network interface: /metrics and /readyz (which names topics, clients and errors) are open to the network; bind to 127.0.0.1 or an internal address unless that is intended", configjson.QuoteShort(cfg.MetricsAddr))
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
			n, err := configjson.Int64(v)
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
	cx.inboundTopics(base, in)
	if f := fileIn(in); f != nil && f.Path != "-" && !cx.deferred[base+"/file"] {
		if _, err := os.Stat(f.Path); errors.Is(err, fs.ErrNotExist) {
			cx.warnf(base+"/file", "file %s does not exist (yet)", configjson.QuoteShort(f.Path))
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
			cx.warnf(base+"/file", "directory %s does not exist: the file writer cannot create %s", configjson.QuoteShort(dir), configjson.QuoteShort(filepath.Base(f.Path)))
		}
	}
	return out
}

// clientConfig converts the "config" object of the client d (at base) to
// its registered descriptor's config: through the descriptor's Decode,
// or else by plain JSON decoding onto the
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
	cx.checkInlineSecrets(base, d.Config)
	raw, err := json.Marshal(d.Config)
	if err != nil {
		cx.errorf(base, "%v", err)
		return nil
	}
	if c.Decode != nil {
		// Kept even when Decode reports errors (the settings are refused
		// then), so that the checks after it still report their findings.
		c.Decode(raw, cfg, clientDiagnostics{cx: cx, base: base, id: d.ID})
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
	cx       *converter
	base, id string
}

func (d clientDiagnostics) Errorf(ptr, format string, args ...any) {
	d.cx.errorf(d.base+ptr, format, args...)
}

func (d clientDiagnostics) Warnf(ptr, format string, args ...any) {
	d.cx.warnf(d.base+ptr, format, args...)
}

func (d clientDiagnostics) NoEffect(ptr, option, why string) { d.cx.noEffect(d.base+ptr, option, why) }

func (d clientDiagnostics) ClientID() string { return d.id }

// checkInlineSecrets warns about every secret member (IsSecretMember) of
// a client's config v (at ptr) written inline rather than as ${ENV_VAR}.
func (cx *converter) checkInlineSecrets(ptr string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			at := ptr + "/" + configjson.EscapePointer(k)
			if s, ok := c.(string); ok && s != "" && IsSecretMember(k) && !cx.fromEnv[at] {
				cx.warnf(at, "%s", inlineSecretExplanation)
			}
			cx.checkInlineSecrets(at, c)
		}
	case []any:
		for i, c := range v {
			cx.checkInlineSecrets(ptr+"/"+strconv.Itoa(i), c)
		}
	}
}

// inboundTopics notes the topics a Kafka consumer (its config at base)
// reads, for the checks across clients (loops, dead letters).
func (cx *converter) inboundTopics(base string, in runtime.InboundConfig) {
	k := kafkaIn(in)
	if k == nil {
		return
	}
	for _, t := range k.Topics {
		if _, dup := cx.inboundTopic[t]; !dup {
			cx.inboundTopic[t] = topicUse{ptr: base + "/topics", brokers: k.Brokers}
		}
	}
	for i, a := range k.Assignments {
		if _, dup := cx.inboundTopic[a.Topic]; !dup {
			cx.inboundTopic[a.Topic] = topicUse{ptr: base + "/partitions/" + strconv.Itoa(i) + "/topic", brokers: k.Brokers}
		}
	}
}

// effective is cfg with the defaults of the client registered as name,
// as Run applies them.
func effective(name string, cfg any) any {
	if c, ok := runtime.Lookup(name); ok && c.Defaults != nil {
		return c.Defaults(cfg)
	}
	return cfg
}

func (cx *converter) decode(ptr string, v any, dst any) bool {
	if err := configjson.DecodeInto(v, dst); err != nil {
		cx.errorf(ptr, "%v", err)
		return false
	}
	return true
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
		cx.errorf(ptr, "file %s is also %s: two clients (or a client and the settings) must not share a file", configjson.QuoteShort(path), by)
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
		if c, ok := runtime.Lookup(in.Name); !ok || c.DeadLetters == nil {
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
func kafkaIn(in runtime.InboundConfig) *consumer.Config {
	k, _ := in.Config.(*consumer.Config)
	return k
}

// fileIn is in's file reader config, nil for another client.
func fileIn(in runtime.InboundConfig) *filereader.Config {
	f, _ := in.Config.(*filereader.Config)
	return f
}

// kafkaOut is out's Kafka producer config, nil for another client.
func kafkaOut(out runtime.OutboundConfig) *producer.Config {
	k, _ := out.Config.(*producer.Config)
	return k
}

// fileOut is out's file writer config, nil for another client.
func fileOut(out runtime.OutboundConfig) *filewriter.Config {
	f, _ := out.Config.(*filewriter.Config)
	return f
}
