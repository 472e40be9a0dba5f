package runtime

// The built-in clients of package runtime, registered when the package is
// loaded. The Kafka clients are registered by runtime/builtin.
func init() {
	for _, c := range []Client{fileReaderClient, fileWriterClient, stdoutClient} {
		Register(c)
	}
}
