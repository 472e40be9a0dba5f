package kafkapython

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/configjson"
)

// DefaultBroker is kafka-python's bootstrap_servers when none is given.
const DefaultBroker = "localhost:9092"

// Decode decodes the config object raw onto doc (numbers as json.Number,
// so that Integer and Int64Of read them), reporting a problem at "".
func Decode(raw json.RawMessage, doc any, d runtime.Diagnostics) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(doc); err != nil {
		d.Errorf("", "%v", err)
		return false
	}
	return true
}

// CheckBrokers warns when a Kafka client's client_config (opts, at
// base+"/client_config"; base is the config object's pointer) sets no
// bootstrap_servers: the client then connects to kafka-python's default,
// localhost:9092, which is right on a laptop and wrong everywhere else.
func CheckBrokers(d runtime.Diagnostics, base string, dir runtime.Direction, opts map[string]any) {
	if v, ok := opts["bootstrap_servers"]; ok && v != nil {
		return
	}
	at := base
	if opts != nil {
		at = base + "/client_config"
	}
	d.Warnf(at, "bootstrap_servers is not set: %s client %q connects to %s (kafka-python's default); set client_config.bootstrap_servers", dir, d.ClientID(), DefaultBroker)
}

// CheckSecurity reports what a schema cannot: options of client_config
// (opts, at base) that contradict the protocol, and the protocol's own
// weaknesses. sec is the effective setting (defaults applied). Secrets
// written inline are the settings' concern (kgen vet warns about every
// secret member).
func CheckSecurity(d runtime.Diagnostics, base string, opts map[string]any, sec Security) {
	sasl := strings.HasPrefix(sec.Protocol, "SASL_")
	tls := strings.HasSuffix(sec.Protocol, "SSL")
	if sasl {
		if sec.SASLMechanism == "" {
			d.Errorf(base+"/security_protocol", "%s needs sasl_mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", sec.Protocol)
		}
		if sec.Username == "" || sec.Password == "" {
			d.Errorf(base+"/security_protocol", "%s needs sasl_plain_username and sasl_plain_password", sec.Protocol)
		}
	}
	for name, v := range opts {
		if v == nil {
			continue
		}
		ptr := base + "/" + configjson.EscapePointer(name)
		switch {
		case !sasl && strings.HasPrefix(name, "sasl_") && name != "sasl_plain_password":
			d.Warnf(ptr, "%s is ignored: security_protocol is %s", name, sec.Protocol)
		case !tls && strings.HasPrefix(name, "ssl_") && name != "ssl_password":
			d.Warnf(ptr, "%s is ignored: security_protocol is %s", name, sec.Protocol)
		}
	}
	if tls && sec.InsecureSkipVerify {
		d.Warnf(base+"/ssl_check_hostname", "ssl_check_hostname is false: the broker certificate's chain is still verified, but not that it was issued for the broker's host name; anyone holding a certificate from a trusted authority can pose as the broker")
	}
	if sasl && !tls && !configjson.IsDeferred(sec.Protocol) {
		switch strings.ToUpper(sec.SASLMechanism) {
		case "PLAIN":
			d.Warnf(base+"/security_protocol", "SASL PLAIN over SASL_PLAINTEXT sends the user name and password in clear text: use SASL_SSL")
		case "SCRAM-SHA-256", "SCRAM-SHA-512":
			d.Warnf(base+"/security_protocol", "SASL_PLAINTEXT: the %s exchange hides the password, but every record and the session travel in clear text and can be read or changed: use SASL_SSL", sec.SASLMechanism)
		}
	}
	if (sec.CertFile == "") != (sec.KeyFile == "") {
		d.Errorf(base, "ssl_certfile and ssl_keyfile go together: set both or neither")
	}
}
