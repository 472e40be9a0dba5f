package runtime

// Defaults the runtime applies when a client starts, for tests outside the
// package (effective_config_test.go).
var (
	ProducerDefaultsForTest = producerDefaults
	ConsumerDefaultsForTest = kafkaConsumerDefaults
)
