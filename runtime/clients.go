package runtime

// The built-in Kafka clients, registered when the package is loaded until
// they move to packages of their own (runtime/builtin registers the
// others).
func init() {
	for _, c := range []Client{kafkaConsumerClient, kafkaProducerClient} {
		Register(c)
	}
}
