// Command democlient feeds sample records to a topic and reads a topic
// back, for scripts/demo.sh.
//
//	democlient produce -brokers B -topic T < lines   (one record per line, "key<TAB>value" or "value")
//	democlient read -brokers B -topic T -n N -timeout 60s
//	democlient topic -brokers B -topic T -partitions 3
//	democlient get URL   (prints the body; no curl on a bare machine)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: democlient produce|read|topic [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "bootstrap servers")
	topic := fs.String("topic", "", "topic")
	n := fs.Int("n", 0, "records to read")
	partitions := fs.Int("partitions", 3, "partitions for a new topic")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(*brokers, *topic)
	case "read":
		err = read(*brokers, *topic, *n, *timeout)
	case "topic":
		err = createTopic(*brokers, *topic, *partitions)
	case "get":
		err = get(fs.Arg(0))
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "democlient:", err)
		os.Exit(1)
	}
}

func createTopic(brokers, topic string, partitions int) error {
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Transport: tr, Timeout: 30 * time.Second}
	res, err := c.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if errors.Is(err, kafka.TopicAlreadyExists) {
		return nil
	}
	return err
}

func produce(brokers, topic string) error {
	w := &kafka.Writer{Addr: kafka.TCP(strings.Split(brokers, ",")...), Topic: topic,
		Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	var msgs []kafka.Message
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		m := kafka.Message{Value: []byte(line)}
		if k, v, ok := strings.Cut(line, "\t"); ok {
			m.Key, m.Value = []byte(k), []byte(v)
		}
		msgs = append(msgs, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for try := 0; try < 20; try++ { // the topic may still be electing leaders
		if err = w.WriteMessages(ctx, msgs...); err == nil {
			fmt.Printf("produced %d records to %s\n", len(msgs), topic)
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return err
}

func read(brokers, topic string, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	addrs := strings.Split(brokers, ",")
	// Wait until the topic holds n records, then print them.
	var ends map[int]int64
	for {
		var err error
		ends, err = endOffsets(ctx, addrs[0], topic)
		total := int64(0)
		for _, e := range ends {
			total += e
		}
		if err == nil && total >= int64(n) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s holds %d of %d records after %v (last error: %v)", topic, total, n, timeout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	for p, end := range ends {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		_ = r.SetOffset(kafka.FirstOffset)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return err
			}
			fmt.Printf("  %s/%d@%d  %s = %s\n", topic, m.Partition, m.Offset, m.Key, m.Value)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	return nil
}

// endOffsets returns each partition's end offset (partitions with records only).
func endOffsets(ctx context.Context, addr, topic string) (map[int]int64, error) {
	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, p := range parts {
		lc, err := kafka.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			return nil, err
		}
		end, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			return nil, err
		}
		if end > 0 {
			out[p.ID] = end
		}
	}
	return out, nil
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	fmt.Printf("%s -> %s\n", url, resp.Status)
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}
