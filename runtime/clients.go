package runtime

// The built-in clients, registered when the package is loaded.
func init() {
	for _, c := range []Client{kafkaConsumerClient, fileReaderClient, kafkaProducerClient, fileWriterClient, stdoutClient} {
		Register(c)
	}
}
