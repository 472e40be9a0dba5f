package kafka

import (
	"errors"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

func TestLeaderOf(t *testing.T) {
	res := &metadataAPI.Response{
		Brokers: []metadataAPI.ResponseBroker{{NodeID: 1, Host: "b1", Port: 9092}, {NodeID: 2, Host: "b2", Port: 9093}},
		Topics: []metadataAPI.ResponseTopic{
			{Name: "t", Partitions: []metadataAPI.ResponsePartition{{PartitionIndex: 0, LeaderID: 2}, {PartitionIndex: 1, LeaderID: -1}}},
			{Name: "gone", ErrorCode: int16(kafka.UnknownTopicOrPartition)},
		},
	}
	tests := []struct {
		topic     string
		partition int
		want      string
		err       error
	}{
		{"t", 0, "b2:9093", nil},
		{"t", 1, "", kafka.LeaderNotAvailable},
		{"t", 7, "", kafka.UnknownTopicOrPartition},
		{"gone", 0, "", kafka.UnknownTopicOrPartition},
		{"absent", 0, "", kafka.UnknownTopicOrPartition},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.topic, tt.partition), func(t *testing.T) {
			got, err := leaderOf(res, tt.topic, tt.partition)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("leaderOf = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
