// Command rawfranz is the benchmark's ceiling for any Go client: a plain
// franz-go consume→produce loop.
//
// PollFetches returns what every partition has buffered; the loop copies
// each record's key, value and headers into a new record for the output
// topic, produces the whole poll asynchronously and waits for all of it
// (Flush), then marks the polled records for commit. Marked offsets are
// committed by franz-go's autocommit every second (AutoCommitMarks), so
// only acknowledged work is ever committed: at-least-once, like kgen.
// Producer: acks all (franz-go's default, with idempotence), linger 5ms,
// no compression (franz-go defaults to snappy; kgen's default is none),
// franz-go's default sticky-key partitioner (murmur2, as kgen).
//
// With -seed-producer the producer takes the seed's sample settings as a
// kafka-python user would carry them over: acks 1 (so no idempotence),
// batch_size 16384, linger_ms 5, max_in_flight_requests_per_connection 5.
//
// With -file each input partition is written to its own file, values one
// per line, fsynced before the poll is marked.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kgen-dev/kgen/bench/internal/contender"
)

func main() {
	seed := flag.Bool("seed-producer", false, "producer with the seed's settings (acks 1, batch_size 16384, linger 5 ms, 5 in flight)")
	ctx, f, done := contender.Setup(1)
	err := run(ctx, f, *seed)
	done()
	if err != nil {
		contender.Fatal(err)
	}
}

func run(ctx context.Context, f contender.Flags, seed bool) error {
	opts := []kgo.Opt{
		kgo.SeedBrokers(f.Brokers...),
		kgo.ConsumerGroup(f.Group),
		kgo.ConsumeTopics(f.In),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.BlockRebalanceOnPoll(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()), // as every contender
	}
	if seed {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
			kgo.ProducerBatchMaxBytes(16384), kgo.MaxProduceRequestsInflightPerBroker(5))
	}
	if f.Out != "" {
		opts = append(opts, kgo.DefaultProduceTopic(f.Out))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer func() {
		cl.AllowRebalance() // a blocked rebalance would hold up leaving the group
		cl.Close()
	}()
	files := map[int32]*fileOut{}
	defer func() {
		for _, fo := range files {
			_ = fo.f.Close()
		}
	}()

	var (
		out      []*kgo.Record
		firstErr error
		mu       sync.Mutex
		wg       sync.WaitGroup
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			contender.Fatal(err)
		})
		if f.File != "" {
			var err error
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				if err == nil && len(p.Records) > 0 {
					err = writeFile(files, f, p)
				}
			})
			if err != nil {
				return err
			}
		} else {
			out = out[:0]
			fs.EachRecord(func(r *kgo.Record) {
				out = append(out, &kgo.Record{Key: r.Key, Value: r.Value, Headers: r.Headers})
			})
			wg.Add(len(out))
			for _, r := range out {
				cl.Produce(ctx, r, promise)
			}
			wg.Wait()
			if firstErr != nil {
				if ctx.Err() != nil && errors.Is(firstErr, context.Canceled) {
					return nil // stopped mid-poll: nothing of it was marked, so it is consumed again
				}
				return firstErr
			}
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			cl.MarkCommitRecords(p.Records...)
		})
		cl.AllowRebalance()
	}
}

type fileOut struct {
	f *os.File
	w *bufio.Writer
}

func writeFile(files map[int32]*fileOut, f contender.Flags, p kgo.FetchTopicPartition) error {
	fo := files[p.Partition]
	if fo == nil {
		file, err := os.OpenFile(f.FilePath(int(p.Partition)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		fo = &fileOut{f: file, w: bufio.NewWriterSize(file, 1<<20)}
		files[p.Partition] = fo
	}
	for _, r := range p.Records {
		_, _ = fo.w.Write(r.Value)
		_ = fo.w.WriteByte('\n')
	}
	if err := fo.w.Flush(); err != nil {
		return err
	}
	return fo.f.Sync()
}
