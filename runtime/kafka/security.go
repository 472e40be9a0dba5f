package kafka

// Security holds TLS and SASL settings (kafka-python's security_protocol,
// sasl_* and ssl_* options).
type Security struct {
	Protocol      string // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
	SASLMechanism string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username      string
	Password      string `kgen:"secret"`
	CAFile        string
	CertFile      string
	KeyFile       string
	// InsecureSkipVerify mirrors ssl_check_hostname=false.
	InsecureSkipVerify bool
}
