package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Connection defaults shared by the Kafka clients. kafka-go's own defaults
// differ between its Dialer (10s dial timeout, none for a Dialer{} literal)
// and its Transport (5s), so both are set from these.
const (
	// DialTimeout bounds one connection set-up: TCP connect, TLS
	// handshake and SASL exchange.
	DialTimeout = 10 * time.Second
	// DefaultClientID is sent when the settings name no client_id.
	DefaultClientID = "kgen"
	// IdleTimeout closes pooled connections unused for this long
	// (kafka-go's default; kafka-python's connections_max_idle_ms is 9m,
	// but the Kafka protocol has no ping and brokers close idle
	// connections after 10m).
	IdleTimeout = 30 * time.Second
	// transportMetadataTTL is the upper bound of the Transport's metadata
	// cache age. kafka-go does not refresh metadata on NotLeader errors, so
	// this is how long a producer may keep writing to a stale leader; it is
	// kept at kafka-go's short default rather than kafka-python's 5m.
	transportMetadataTTL = 6 * time.Second
)

// Dialer returns the Dialer used by the consumer (Reader,
// ConsumerGroup, Conn) with sec's TLS and SASL settings. A timeout <= 0
// means DialTimeout: a kafka.Dialer literal has no timeout at all.
func Dialer(sec Security, clientID string, timeout time.Duration) (*kafka.Dialer, error) {
	tlsCfg, mech, err := SecuritySettings(sec)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DialTimeout
	}
	if clientID == "" {
		clientID = DefaultClientID
	}
	return &kafka.Dialer{
		ClientID:      clientID,
		Timeout:       timeout,
		DualStack:     true,
		TLS:           tlsCfg,
		SASLMechanism: mech,
	}, nil
}

// Transport returns a Transport (used by Writer and Client) with sec's
// TLS and SASL settings and every timeout set explicitly. The caller owns
// it and must call CloseIdleConnections when done, or its connection
// goroutines outlive the client.
//
// MetadataTopics is left empty on purpose: the Transport answers a
// Writer's metadata lookups from its cache only, so a topic outside that
// list (a dead-letter topic, a per-message topic) would always look
// unknown.
func Transport(sec Security, clientID string) (*kafka.Transport, error) {
	tlsCfg, mech, err := SecuritySettings(sec)
	if err != nil {
		return nil, err
	}
	if clientID == "" {
		clientID = DefaultClientID
	}
	return &kafka.Transport{
		DialTimeout: DialTimeout,
		IdleTimeout: IdleTimeout,
		MetadataTTL: transportMetadataTTL,
		ClientID:    clientID,
		TLS:         tlsCfg,
		SASL:        mech,
	}, nil
}

// SecuritySettings maps kafka-python's security_protocol to kafka-go:
// PLAINTEXT (or empty) uses neither TLS nor SASL, SSL only TLS,
// SASL_PLAINTEXT only SASL, SASL_SSL both. Like kafka-python, the ssl_*
// and sasl_* settings are ignored by protocols that do not use them.
func SecuritySettings(sec Security) (*tls.Config, sasl.Mechanism, error) {
	var useTLS, useSASL bool
	switch p := strings.ToUpper(sec.Protocol); p {
	case "", "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return nil, nil, fmt.Errorf("security protocol %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", sec.Protocol)
	}
	var (
		tlsCfg *tls.Config
		mech   sasl.Mechanism
		err    error
	)
	if useTLS {
		if tlsCfg, err = tlsConfig(sec); err != nil {
			return nil, nil, err
		}
	}
	if useSASL {
		if mech, err = saslMechanism(sec); err != nil {
			return nil, nil, err
		}
	}
	return tlsCfg, mech, nil
}

// tlsConfig builds the client TLS settings: the CA file (ssl_cafile) as the
// only trusted roots when set, the system roots otherwise; a client
// certificate (ssl_certfile + ssl_keyfile) when both are set. The server
// name is left empty: kafka-go fills it from each broker's host name, so
// host names are verified unless InsecureSkipVerify (ssl_check_hostname
// false) is set, which skips that check only: see verifyChain.
func tlsConfig(sec Security) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if sec.CAFile != "" {
		pem, err := os.ReadFile(sec.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca file %s: no PEM certificate found", sec.CAFile)
		}
		cfg.RootCAs = pool
	}
	if sec.InsecureSkipVerify {
		// crypto/tls can only skip all of its verification: skip it, and
		// verify the chain here against the same roots, without a host
		// name, as kafka-python does with ssl_check_hostname=false.
		cfg.InsecureSkipVerify = true //nolint:gosec // the chain is verified by VerifyConnection
		cfg.VerifyConnection = verifyChain(cfg.RootCAs)
	}
	switch {
	case sec.CertFile != "" && sec.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(sec.CertFile, sec.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls key pair %s, %s: %w", sec.CertFile, sec.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case sec.CertFile != "":
		return nil, fmt.Errorf("tls cert file %s: no key file", sec.CertFile)
	case sec.KeyFile != "":
		return nil, fmt.Errorf("tls key file %s: no cert file", sec.KeyFile)
	}
	return cfg, nil
}

// verifyChain returns a tls.Config.VerifyConnection that verifies the
// server's certificate chain against roots (nil: the system's) for server
// authentication, at the current time, and ignores the host name.
func verifyChain(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the server sent no certificate")
		}
		opts := x509.VerifyOptions{
			Roots:         roots,
			Intermediates: x509.NewCertPool(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
			return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
		}
		return nil
	}
}

// errNoSASLUser is returned when a SASL protocol is configured without a
// user name.
var errNoSASLUser = errors.New("no username")

// saslMechanism returns the SASL mechanism named by sec (kafka-python's
// sasl_mechanism; sasl_plain_username and sasl_plain_password serve SCRAM
// too, as in kafka-python). GSSAPI and OAUTHBEARER are not supported.
func saslMechanism(sec Security) (sasl.Mechanism, error) {
	name := strings.ToUpper(sec.SASLMechanism)
	if sec.Username == "" && name != "" {
		return nil, fmt.Errorf("sasl mechanism %s: %w", name, errNoSASLUser)
	}
	switch name {
	case "PLAIN":
		return plain.Mechanism{Username: sec.Username, Password: sec.Password}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if name == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		mech, err := scram.Mechanism(algo, sec.Username, sec.Password)
		if err != nil {
			return nil, fmt.Errorf("sasl mechanism %s: %w", name, err)
		}
		return mech, nil
	case "":
		return nil, fmt.Errorf("security protocol %s: no sasl mechanism (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", sec.Protocol)
	default:
		return nil, fmt.Errorf("sasl mechanism %q: unsupported (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", sec.SASLMechanism)
	}
}
