package producer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T, dir, name string) testPKI {
	t.Helper()
	caKey := newTestKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{caFile: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (string, string) {
		key := newTestKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile := filepath.Join(dir, name+"-"+cn+".pem"), filepath.Join(dir, name+"-"+cn+"-key.pem")
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "PRIVATE KEY", keyDER)
		return certFile, keyFile
	}
	p.serverCert, p.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return p
}

func newTestKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDialSecurityErrors checks that each bad setting fails both the Dialer
// and the Transport with an error naming the file or mechanism.
func TestDialSecurityErrors(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "ok")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		sec  rkafka.Security
		want string
	}{
		{"unknown protocol", rkafka.Security{Protocol: "TLS"}, `security protocol "TLS"`},
		{"missing ca file", rkafka.Security{Protocol: "SSL", CAFile: missing}, missing},
		{"ca file without certificate", rkafka.Security{Protocol: "SSL", CAFile: garbage}, garbage + ": no PEM certificate"},
		{"cert without key", rkafka.Security{Protocol: "SSL", CertFile: pki.clientCert}, pki.clientCert + ": no key file"},
		{"key without cert", rkafka.Security{Protocol: "SSL", KeyFile: pki.clientKey}, pki.clientKey + ": no cert file"},
		{"mismatched key pair", rkafka.Security{Protocol: "SSL", CertFile: pki.clientCert, KeyFile: pki.serverKey}, pki.clientCert},
		{"unreadable key", rkafka.Security{Protocol: "SSL", CertFile: pki.clientCert, KeyFile: garbage}, garbage},
		{"sasl without mechanism", rkafka.Security{Protocol: "SASL_PLAINTEXT", Username: "u"}, "no sasl mechanism"},
		{"unsupported mechanism", rkafka.Security{Protocol: "SASL_SSL", SASLMechanism: "GSSAPI", Username: "u"}, `sasl mechanism "GSSAPI": unsupported`},
		{"sasl without username", rkafka.Security{Protocol: "SASL_PLAINTEXT", SASLMechanism: "SCRAM-SHA-512"}, "sasl mechanism SCRAM-SHA-512: no username"},
		{"sasl_ssl checks tls too", rkafka.Security{Protocol: "SASL_SSL", SASLMechanism: "PLAIN", Username: "u", CAFile: missing}, missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := rkafka.Dialer(tt.sec, "", 0); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Dialer: err = %v, want it to contain %q", err, tt.want)
			}
			if _, err := rkafka.Transport(tt.sec, ""); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Transport: err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDialSASLMechanisms(t *testing.T) {
	pki := newTestPKI(t, t.TempDir(), "sasl")
	tests := []struct {
		sec      rkafka.Security
		wantMech string // "" = no SASL
		wantTLS  bool
	}{
		{rkafka.Security{}, "", false},
		// PLAINTEXT ignores ssl_* settings, even a missing file, like kafka-python.
		{rkafka.Security{Protocol: "PLAINTEXT", CAFile: "/nonexistent", SASLMechanism: "PLAIN"}, "", false},
		{rkafka.Security{Protocol: "SSL", CAFile: pki.caFile}, "", true},
		{rkafka.Security{Protocol: "SASL_PLAINTEXT", SASLMechanism: "PLAIN", Username: "u", Password: "p"}, "PLAIN", false},
		{rkafka.Security{Protocol: "sasl_plaintext", SASLMechanism: "scram-sha-256", Username: "u", Password: "p"}, "SCRAM-SHA-256", false},
		{rkafka.Security{Protocol: "SASL_SSL", SASLMechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}, "SCRAM-SHA-512", true},
	}
	for _, tt := range tests {
		t.Run(tt.sec.Protocol+"/"+tt.sec.SASLMechanism, func(t *testing.T) {
			d, err := rkafka.Dialer(tt.sec, "me", 0)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := rkafka.Transport(tt.sec, "")
			if err != nil {
				t.Fatal(err)
			}
			if d.ClientID != "me" || tr.ClientID != rkafka.DefaultClientID || d.Timeout != rkafka.DialTimeout {
				t.Errorf("client ids %q, %q, dial timeout %s", d.ClientID, tr.ClientID, d.Timeout)
			}
			for _, got := range []struct {
				name    string
				mech    interface{ Name() string }
				hasMech bool
				tls     *tls.Config
			}{{"dialer", d.SASLMechanism, d.SASLMechanism != nil, d.TLS}, {"transport", tr.SASL, tr.SASL != nil, tr.TLS}} {
				name := ""
				if got.hasMech {
					name = got.mech.Name()
				}
				if name != tt.wantMech {
					t.Errorf("%s: mechanism %q, want %q", got.name, name, tt.wantMech)
				}
				if (got.tls != nil) != tt.wantTLS {
					t.Errorf("%s: tls %v, want %v", got.name, got.tls != nil, tt.wantTLS)
				}
			}
		})
	}
}

// TestDialTLSHandshake proves the TLS settings built from generated
// certificates work: a server requiring a client certificate accepts the
// handshake, and a CA file of another CA makes it fail as permanent.
func TestDialTLSHandshake(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "good")
	other := newTestPKI(t, dir, "other")

	serverCert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	addr := serveTLS(t, &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
	})

	handshake := func(sec rkafka.Security) error {
		tr, err := rkafka.Transport(sec, "")
		if err != nil {
			t.Fatal(err)
		}
		if sec.CertFile != "" && len(tr.TLS.Certificates) != 1 {
			t.Fatalf("client certificates: %d", len(tr.TLS.Certificates))
		}
		// tls.Dial fills ServerName from the address, as kafka-go does.
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tr.TLS)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Handshake()
	}

	if err := handshake(rkafka.Security{Protocol: "SSL", CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}); err != nil {
		t.Errorf("handshake with the right CA and client certificate: %v", err)
	}
	err = handshake(rkafka.Security{Protocol: "SSL", CAFile: other.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) && !strings.Contains(fmtErr(err), "unknown authority") {
		t.Errorf("handshake with another CA: %v, want an unknown authority error", err)
	}
	if err != nil && retryable(err) {
		t.Errorf("retryable(%v) = true, want a certificate error to be permanent", err)
	}
	// ssl_check_hostname=false skips the host name check only: a
	// certificate from an unknown authority is still refused.
	err = handshake(rkafka.Security{Protocol: "SSL", CAFile: other.caFile, InsecureSkipVerify: true, CertFile: pki.clientCert, KeyFile: pki.clientKey})
	if !errors.As(err, &unknown) && !strings.Contains(fmtErr(err), "unknown authority") {
		t.Errorf("handshake without the host name check, with another CA: %v, want an unknown authority error", err)
	}
	if err := handshake(rkafka.Security{Protocol: "SSL", CAFile: pki.caFile, InsecureSkipVerify: true, CertFile: pki.clientCert, KeyFile: pki.clientKey}); err != nil {
		t.Errorf("handshake without the host name check, with the right CA: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestRawDialerTLS: the fetchers' dialer does the TLS handshake itself
// (kafka-go's Dialer would hide the TLS connection), verifying the server
// against the CA, and hands the connection over.
func TestRawDialerTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "good")
	other := newTestPKI(t, dir, "other")
	serverCert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12})

	dial := func(sec rkafka.Security) (net.Conn, error) {
		d, err := rkafka.Dialer(sec, "", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		tlsCfg, _, err := rkafka.SecuritySettings(sec)
		if err != nil {
			t.Fatal(err)
		}
		conn, kc, err := rkafka.DialRaw(context.Background(), rkafka.RawDialer(d, tlsCfg), addr, 0)
		if err != nil {
			return nil, err
		}
		defer kc.Close()
		return conn, nil
	}
	conn, err := dial(rkafka.Security{Protocol: "SSL", CAFile: pki.caFile})
	if err != nil {
		t.Fatalf("dial with the right CA: %v", err)
	}
	tc, ok := conn.(*tls.Conn)
	if !ok {
		t.Fatalf("captured %T, want *tls.Conn", conn)
	}
	if st := tc.ConnectionState(); !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
		t.Errorf("handshake complete %v, %d verified chains", st.HandshakeComplete, len(st.VerifiedChains))
	}
	if _, err := dial(rkafka.Security{Protocol: "SSL", CAFile: other.caFile}); err == nil || retryable(err) {
		t.Errorf("dial with another CA: %v, want a permanent certificate error", err)
	}
}

// serveTLS accepts TLS connections on a loopback port until the test ends:
// each is handshaken, then read until the client closes it.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				_ = c.(*tls.Conn).Handshake()
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}
