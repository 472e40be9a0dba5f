// Command kafkaready waits until a Kafka broker answers a metadata request.
// scripts/kafka.sh runs it after starting the broker:
//
//	go run ./scripts/kafkaready -addr 127.0.0.1:9092 -timeout 90s [-pid 1234]
//
// It exits 0 once the broker lists itself in a metadata response, 1 when the
// timeout passes first or the process given by -pid exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9092", "broker address host:port")
	timeout := flag.Duration("timeout", 90*time.Second, "how long to wait")
	pid := flag.Int("pid", 0, "broker process id; give up as soon as it exits (0: don't watch)")
	flag.Parse()

	start := time.Now()
	deadline := start.Add(*timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		if *pid > 0 && !alive(*pid) {
			fmt.Fprintf(os.Stderr, "kafkaready: broker process %d exited (last probe error: %v)\n", *pid, lastErr)
			os.Exit(1)
		}
		id, err := probe(*addr, min(5*time.Second, time.Until(deadline)))
		if err == nil {
			fmt.Printf("kafkaready: broker %d answered metadata on %s after %.1fs\n",
				id, *addr, time.Since(start).Seconds())
			return
		}
		lastErr = err
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "kafkaready: no broker answered on %s within %s (last error: %v)\n", *addr, *timeout, lastErr)
	os.Exit(1)
}

// probe makes one metadata round trip and returns the id of the first broker
// listed.
func probe(addr string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	brokers, err := conn.Brokers() // a Metadata request
	if err != nil {
		return 0, err
	}
	if len(brokers) == 0 {
		return 0, errors.New("metadata lists no brokers")
	}
	return brokers[0].ID, nil
}

// alive reports whether process pid exists (signal 0 probes without sending).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
