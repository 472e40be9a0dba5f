// Command watermill is the Watermill contender: a message.Router with one
// passthrough handler from a Kafka subscriber to a Kafka publisher, set up
// as Watermill's Kafka docs show (DefaultMarshaler, the default Sarama
// subscriber and sync publisher configs, consumer group, oldest offset).
//
// Deviations, each needed to run the same workload as the others:
//   - Sarama's protocol version is raised from the defaults' V1_0_0_0 to
//     V3_6_0_0: Kafka 4 removed the request versions of Kafka 1.0 (KIP-896).
//   - The publisher waits for all in-sync replicas (acks all), as every
//     contender does; Sarama's default is the leader only.
//
// DefaultMarshaler does not carry the Kafka key, so outputs are spread by
// Sarama's partitioner over the output partitions; headers (the latency
// workload's timestamp) pass through as Watermill metadata.
package main

import (
	"context"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/kgen-dev/kgen/bench/internal/contender"
)

func main() {
	ctx, f, done := contender.Setup(1)
	err := run(ctx, f)
	done()
	if err != nil {
		contender.Fatal(err)
	}
}

func run(ctx context.Context, f contender.Flags) error {
	logger := watermill.NopLogger{}

	subCfg := kafka.DefaultSaramaSubscriberConfig()
	subCfg.Version = sarama.V3_6_0_0
	subCfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               f.Brokers,
		Unmarshaler:           kafka.DefaultMarshaler{},
		OverwriteSaramaConfig: subCfg,
		ConsumerGroup:         f.Group,
	}, logger)
	if err != nil {
		return err
	}

	pubCfg := kafka.DefaultSaramaSyncPublisherConfig()
	pubCfg.Version = sarama.V3_6_0_0
	pubCfg.Producer.RequiredAcks = sarama.WaitForAll
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               f.Brokers,
		Marshaler:             kafka.DefaultMarshaler{},
		OverwriteSaramaConfig: pubCfg,
	}, logger)
	if err != nil {
		return err
	}

	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		return err
	}
	router.AddHandler("passthrough", f.In, sub, f.Out, pub,
		func(msg *message.Message) ([]*message.Message, error) {
			return []*message.Message{msg.Copy()}, nil
		})
	return router.Run(ctx)
}
