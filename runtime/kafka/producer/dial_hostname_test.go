package producer

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// TestSkipHostnameCheckOnly: with ssl_check_hostname=false
// (InsecureSkipVerify) a server whose certificate is for another host name
// is accepted when its chain verifies, as kafka-python does; with the check
// on, it is refused; a chain from another authority is refused either way.
func TestSkipHostnameCheckOnly(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "good") // the server certificate names 127.0.0.1 only
	other := newTestPKI(t, dir, "other")
	serverCert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12})
	_, port, _ := net.SplitHostPort(addr)

	// Dial "localhost": kafka-go sets ServerName from the broker's host.
	dial := func(sec rkafka.Security) error {
		cfg, _, err := rkafka.SecuritySettings(sec)
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.Clone()
		cfg.ServerName = "localhost"
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort("127.0.0.1", port), cfg)
		if err != nil {
			return err
		}
		return c.Close()
	}
	if err := dial(rkafka.Security{Protocol: "SSL", CAFile: pki.caFile}); err == nil || !strings.Contains(err.Error(), "localhost") {
		t.Errorf("host name checked: %v, want a host name mismatch", err)
	}
	if err := dial(rkafka.Security{Protocol: "SSL", CAFile: pki.caFile, InsecureSkipVerify: true}); err != nil {
		t.Errorf("host name check skipped, chain good: %v", err)
	}
	err = dial(rkafka.Security{Protocol: "SSL", CAFile: other.caFile, InsecureSkipVerify: true})
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("host name check skipped, chain from another CA: %v, want a certificate verification error", err)
	}
	if err != nil && retryable(err) {
		t.Errorf("retryable(%v) = true, want permanent", err)
	}
	// No CA file: the system roots, which do not hold the test CA.
	if err := dial(rkafka.Security{Protocol: "SSL", InsecureSkipVerify: true}); err == nil {
		t.Error("host name check skipped, no CA file: a self-made CA was trusted")
	}
}
