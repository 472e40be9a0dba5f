// Package kafkapython maps kafka-python's KafkaConsumer and KafkaProducer
// options, which the settings' "client_config" object uses, onto the Kafka
// clients' configs: the options both clients take (CommonOptions), the
// machinery that applies a table of options (Apply), and the value
// readers and checks the clients' Decode functions share. The settings
// schema (kafka_consumer_client_config, kafka_producer_client_config) lists
// the same names with their types; the clients' tests keep the two in
// step. Types and enums are checked by the schema; Apply only converts,
// and reports what the schema cannot say.
//
// An option is either mapped (Apply) or accepted without effect (Ignored
// says why, in a warning). kafka-python options whose values are Python
// objects (serializers, callbacks, ssl_context, socket_options, selector,
// sasl_oauth_token_provider) cannot appear in JSON and are not listed.
package kafkapython

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/configjson"
)

// Option describes one kafka-python option for a configuration of type T.
type Option[T any] struct {
	// Ignored, when not empty, is why the option has no effect with
	// kafka-go; the option is accepted with a warning.
	Ignored string
	// WarnIf limits the warning of an ignored option to some values.
	WarnIf func(v any) bool
	// Apply sets the mapped field from the option's value (never null).
	Apply func(c *T, v any) error
}

// Security is runtime/kafka's Security, which this package cannot import
// (it is below runtime/kafka): a *kafka.Security converts to a *Security,
// and the conversion stops compiling if the two differ.
type Security struct {
	Protocol           string
	SASLMechanism      string
	Username           string
	Password           string
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool
}

// Common is what consumer and producer options have in common: pointers
// into the client's config.
type Common struct {
	Brokers  *[]string
	ClientID *string
	Security *Security
}

// Reasons shared by several options.
const (
	WhySocketBuffers = "kafka-go uses the system's socket buffer sizes"
	WhyReconnect     = "kafka-go's reconnect backoff is fixed"
	WhyAPIVersion    = "kafka-go negotiates API versions with each broker"
	WhyMetrics       = "kgen exports Prometheus metrics instead (see /metrics/address)"
	WhyKerberos      = "GSSAPI (Kerberos) is not supported by kafka-go"
	// WhyMaxRecords explains max_records and max_poll_records.
	WhyMaxRecords = "kgen has no poll loop: each fetch response goes to the workers whole, records run one at a time per key, and processing.max_in_flight_records bounds what is fetched ahead"
)

// CommonOptions are the options of both KafkaConsumer and KafkaProducer.
var CommonOptions = map[string]Option[Common]{
	// "host:port,host:port" or an array; kafka-python's default port 9092
	// applies to a host without one.
	"bootstrap_servers": {Apply: func(c *Common, v any) (err error) {
		*c.Brokers, err = Brokers(v)
		return err
	}},
	// Sent to the brokers (Dialer.ClientID / Transport.ClientID).
	"client_id": {Apply: func(c *Common, v any) error { *c.ClientID = v.(string); return nil }},
	// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL: which of TLS and SASL apply.
	"security_protocol": {Apply: func(c *Common, v any) error { c.Security.Protocol = v.(string); return nil }},
	// ssl_check_hostname=false skips the host name check only; the
	// certificate chain is still verified (runtime/kafka's verifyChain), as in
	// kafka-python. kgen vet warns.
	"ssl_check_hostname": {Apply: func(c *Common, v any) error { c.Security.InsecureSkipVerify = !v.(bool); return nil }},
	// Trusted certificate authorities (tls.Config.RootCAs).
	"ssl_cafile": {Apply: func(c *Common, v any) error { c.Security.CAFile = v.(string); return nil }},
	// Client certificate and key (tls.LoadX509KeyPair).
	"ssl_certfile": {Apply: func(c *Common, v any) error { c.Security.CertFile = v.(string); return nil }},
	"ssl_keyfile":  {Apply: func(c *Common, v any) error { c.Security.KeyFile = v.(string); return nil }},
	// Go's standard library cannot load an encrypted key.
	"ssl_password": {Ignored: "the runtime cannot decrypt a key file; decrypt it and leave ssl_password out"},
	// Certificate revocation lists would need a custom verifier.
	"ssl_crlfile": {Ignored: "certificate revocation lists are not supported"},
	// Go's crypto/tls chooses and orders cipher suites itself.
	"ssl_ciphers": {Ignored: "Go's TLS chooses the cipher suites"},
	// kafka-go sends ApiVersions and picks versions per broker.
	"api_version":                 {Ignored: WhyAPIVersion},
	"api_version_auto_timeout_ms": {Ignored: WhyAPIVersion},
	// kafka-python's metrics registry; kgen has Prometheus metrics.
	"metric_reporters":         {Ignored: WhyMetrics},
	"metrics_num_samples":      {Ignored: WhyMetrics},
	"metrics_sample_window_ms": {Ignored: WhyMetrics},
	// Socket buffer sizes would need a custom dialer.
	"receive_buffer_bytes": {Ignored: WhySocketBuffers},
	"send_buffer_bytes":    {Ignored: WhySocketBuffers},
	// kafka-go's reader and transport back off on their own schedule.
	"reconnect_backoff_ms":     {Ignored: WhyReconnect},
	"reconnect_backoff_max_ms": {Ignored: WhyReconnect},
	// PLAIN (sasl/plain) or SCRAM-SHA-256/512 (sasl/scram).
	"sasl_mechanism": {Apply: func(c *Common, v any) error { c.Security.SASLMechanism = v.(string); return nil }},
	// kafka-python uses the plain_* names for SCRAM too, and so do we.
	"sasl_plain_username": {Apply: func(c *Common, v any) error { c.Security.Username = v.(string); return nil }},
	"sasl_plain_password": {Apply: func(c *Common, v any) error { c.Security.Password = v.(string); return nil }},
	// Only meaningful for GSSAPI, which kafka-go lacks.
	"sasl_kerberos_service_name": {Ignored: WhyKerberos},
	"sasl_kerberos_domain_name":  {Ignored: WhyKerberos},
}

// ErrWarning marks an Apply result that is a warning, not an error.
type ErrWarning string

func (e ErrWarning) Error() string { return string(e) }

// Table describes every option of a client, own and common: its name
// and why it has no effect ("" when it is mapped).
func Table[T any](own map[string]Option[T]) map[string]string {
	out := make(map[string]string, len(own)+len(CommonOptions))
	for k, o := range CommonOptions {
		out[k] = o.Ignored
	}
	for k, o := range own {
		out[k] = o.Ignored
	}
	return out
}

// Apply applies a client_config object to cfg, in name order, reporting
// through d. base is the pointer of the client_config object.
func Apply[T any](d runtime.Diagnostics, base string, opts map[string]any, own map[string]Option[T], cfg *T, common Common) {
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := opts[name]
		ptr := base + "/" + configjson.EscapePointer(name)
		var o Option[T]
		var err error
		if co, ok := CommonOptions[name]; ok {
			o.Ignored, o.WarnIf = co.Ignored, co.WarnIf
			if co.Apply != nil && v != nil {
				err = co.Apply(&common, v)
			}
		} else if o, ok = own[name]; !ok {
			d.Errorf(ptr, "unknown kafka-python option %s", configjson.QuoteShort(name)) // the schema refuses it first
			continue
		} else if o.Apply != nil && v != nil {
			err = o.Apply(cfg, v)
		}
		if o.Ignored != "" && (o.WarnIf == nil || o.WarnIf(v)) {
			if strings.HasPrefix(o.Ignored, "ignored: ") {
				d.Warnf(ptr, "%s is %s", name, o.Ignored)
			} else {
				d.NoEffect(ptr, name, o.Ignored)
			}
		}
		var w ErrWarning
		switch {
		case errors.As(err, &w):
			d.Warnf(ptr, "%s", w)
		case err != nil:
			d.Errorf(ptr, "%v", err)
		}
	}
}

// Brokers reads bootstrap_servers: "host:port,host:port" or an array;
// a host without a port gets kafka-python's 9092.
func Brokers(v any) ([]string, error) {
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
				return nil, fmt.Errorf("got %s; expected host:port (write an IPv6 address as [addr]:port)", configjson.QuoteShort(it))
			}
			host, port = strings.Trim(it, "[]"), "9092"
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("got %s; expected host:port with a port from 1 to 65535", configjson.QuoteShort(it))
		}
		if host == "" {
			return nil, fmt.Errorf("got %s; expected host:port with a host", configjson.QuoteShort(it))
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) == 0 {
		return nil, errors.New("no broker given; expected \"host:port,host:port\"")
	}
	return out, nil
}
