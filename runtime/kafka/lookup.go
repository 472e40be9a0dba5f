package kafka

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// LookupLeader asks the broker at addr for the leader of topic/partition
// and returns the leader's address. Its Metadata request never creates a
// missing topic: kafka-go's Dialer.LookupPartition asks with topic
// creation allowed, so on a broker with auto.create.topics.enable (Kafka's
// default) a producer reconnecting to a deleted output topic, or a
// fetcher to a deleted input, would create it again with the broker's
// defaults.
func LookupLeader(ctx context.Context, d *kafka.Dialer, addr, topic string, partition int) (string, error) {
	res, err := RoundTrip(ctx, d, addr, 8, &metadataAPI.Request{TopicNames: []string{topic}})
	if err != nil {
		return "", fmt.Errorf("metadata from %s: %w", addr, err)
	}
	return leaderOf(res.(*metadataAPI.Response), topic, partition)
}

// leaderOf finds the leader of topic/partition in a Metadata response.
func leaderOf(res *metadataAPI.Response, topic string, partition int) (string, error) {
	for _, t := range res.Topics {
		if t.Name != topic {
			continue
		}
		if t.ErrorCode != 0 {
			return "", fmt.Errorf("%s: %w", topic, kafka.Error(t.ErrorCode))
		}
		for _, p := range t.Partitions {
			if int(p.PartitionIndex) != partition {
				continue
			}
			if p.ErrorCode != 0 && kafka.Error(p.ErrorCode) != kafka.ReplicaNotAvailable {
				return "", fmt.Errorf("%s/%d: %w", topic, partition, kafka.Error(p.ErrorCode))
			}
			for _, b := range res.Brokers {
				if b.NodeID == p.LeaderID && b.Host != "" {
					return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), nil
				}
			}
			return "", fmt.Errorf("%s/%d: %w", topic, partition, kafka.LeaderNotAvailable)
		}
		return "", fmt.Errorf("%s/%d: %w", topic, partition, kafka.UnknownTopicOrPartition)
	}
	return "", fmt.Errorf("%s: %w", topic, kafka.UnknownTopicOrPartition)
}
