// Command rawkafkago is the benchmark's ceiling for kafka-go: the fastest
// honest consume→produce loop we know how to write with the client kgen uses.
//
//   - Consuming: a kafka.ConsumerGroup for membership, and per assigned
//     partition one connection to its leader reading whole fetch responses
//     with Conn.ReadBatch (the batch-level API; the Reader's per-message
//     path is about 2x slower). This is the same fetch path as kgen's source.
//   - Per partition, the fetcher and the writer are two goroutines joined by
//     a channel of one batch, so the next fetch overlaps the produce of the
//     last (two message buffers, reused).
//   - Producing: one shared kafka.Writer, the batch handed to WriteMessages
//     at once, with kgen's producer settings: BatchSize 1000, BatchTimeout
//     5ms, RequiredAcks all, murmur2 partitioning by key.
//   - Committing: a partition's next offset is recorded only after
//     WriteMessages returned (every record acknowledged), and committed
//     every second and at the end: at-least-once, like kgen.
//
// With -file the output is one file per input partition ("{}" in the path
// is the partition), values one per line, fsynced after every batch, before
// its offset may be committed. With -sleep each record waits that long
// before it is written, in partition order (the slow-handler contrast).
package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

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

const (
	maxWait        = 200 * time.Millisecond
	commitInterval = time.Second
)

func run(ctx context.Context, f contender.Flags) error {
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                f.Group,
		Brokers:           f.Brokers,
		Topics:            []string{f.In},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  200 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = cg.Close() })
	defer stop()

	var w *kafka.Writer
	if f.File == "" {
		w = &kafka.Writer{
			Addr:         kafka.TCP(f.Brokers...),
			Topic:        f.Out,
			Balancer:     &kafka.Murmur2Balancer{},
			BatchSize:    1000,
			BatchTimeout: 5 * time.Millisecond,
			RequiredAcks: kafka.RequireAll,
			MaxAttempts:  5,
		}
		defer w.Close()
	}
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			if errors.Is(err, kafka.GroupCoordinatorNotAvailable) || errors.Is(err, kafka.RebalanceInProgress) {
				// A broker still loading its offsets topic: the group
				// retries by itself, as any consumer would.
				continue
			}
			return err
		}
		var mu sync.Mutex
		next := map[int]int64{}
		commit := func() {
			mu.Lock()
			offs := map[string]map[int]int64{f.In: {}}
			for p, o := range next {
				offs[f.In][p] = o
			}
			clear(next)
			mu.Unlock()
			if len(offs[f.In]) > 0 {
				_ = gen.CommitOffsets(offs)
			}
		}
		var wg sync.WaitGroup
		for _, p := range gen.Assignments[f.In] {
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				pc := &partition{f: f, id: p.ID, w: w, done: func(o int64) {
					mu.Lock()
					next[p.ID] = o
					mu.Unlock()
				}}
				pc.run(gctx, p.Offset)
			})
		}
		gen.Start(func(gctx context.Context) {
			t := time.NewTicker(commitInterval)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					commit()
				case <-gctx.Done():
					wg.Wait()
					commit()
					return
				}
			}
		})
	}
}

type partition struct {
	f    contender.Flags
	id   int
	w    *kafka.Writer
	done func(next int64)
}

type batch struct {
	msgs []kafka.Message
	next int64
}

func (pc *partition) run(ctx context.Context, offset int64) {
	full := make(chan batch, 1)
	free := make(chan []kafka.Message, 2)
	free <- make([]kafka.Message, 0, 4096)
	free <- make([]kafka.Message, 0, 4096)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pc.write(full, free)
	}()
	pc.fetch(ctx, offset, full, free)
	close(full)
	wg.Wait()
}

func (pc *partition) fetch(ctx context.Context, offset int64, full chan<- batch, free <-chan []kafka.Message) {
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := kafka.DialLeader(dctx, "tcp", pc.f.Brokers[0], pc.f.In, pc.id)
		cancel()
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
		if offset < 0 {
			offset, err = conn.ReadFirstOffset()
		}
		if err == nil {
			_, err = conn.Seek(offset, kafka.SeekAbsolute|kafka.SeekDontCheck)
		}
		for err == nil && ctx.Err() == nil {
			var msgs []kafka.Message
			select {
			case msgs = <-free:
			case <-ctx.Done():
			}
			if msgs == nil {
				break
			}
			msgs, offset, err = readBatch(conn, msgs[:0], offset)
			full <- batch{msgs: msgs, next: offset}
		}
		stop()
		_ = conn.Close()
	}
}

func readBatch(conn *kafka.Conn, msgs []kafka.Message, offset int64) ([]kafka.Message, int64, error) {
	_ = conn.SetReadDeadline(time.Now().Add(maxWait + 10*time.Second))
	b := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: 1 << 20, MaxWait: maxWait})
	for {
		m, err := b.ReadMessage()
		if err != nil {
			break
		}
		msgs = append(msgs, kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers})
		offset = m.Offset + 1
	}
	err := b.Close()
	if errors.Is(err, io.EOF) || errors.Is(err, kafka.RequestTimedOut) {
		err = nil
	}
	if n := b.Offset(); n > offset {
		offset = n
	}
	return msgs, offset, err
}

// write produces (or writes to the file) each batch, then records its next
// offset as committable and returns the buffer to the fetcher.
func (pc *partition) write(full <-chan batch, free chan<- []kafka.Message) {
	var (
		file *os.File
		bw   *bufio.Writer
	)
	if pc.f.File != "" {
		var err error
		file, err = os.OpenFile(pc.f.FilePath(pc.id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			contender.Fatal(err)
		}
		defer file.Close()
		bw = bufio.NewWriterSize(file, 1<<20)
	}
	for b := range full {
		if len(b.msgs) > 0 {
			var err error
			switch {
			case pc.f.Sleep > 0:
				// The slow handler in partition order: each record waits,
				// and every slowChunk records are produced.
				for i := 0; i < len(b.msgs) && err == nil; i += slowChunk {
					chunk := b.msgs[i:min(i+slowChunk, len(b.msgs))]
					for range chunk {
						time.Sleep(pc.f.Sleep)
					}
					err = pc.writeMessages(chunk)
				}
			case bw != nil:
				for _, m := range b.msgs {
					_, _ = bw.Write(m.Value)
					_ = bw.WriteByte('\n')
				}
				if err = bw.Flush(); err == nil {
					err = file.Sync()
				}
			default:
				err = pc.writeMessages(b.msgs)
			}
			if err != nil {
				contender.Fatal(err)
			}
			pc.done(b.next)
		}
		clear(b.msgs) // drop references for the GC
		free <- b.msgs[:0]
	}
}

// slowChunk is how many slow-handled records are produced at once.
const slowChunk = 20

func (pc *partition) writeMessages(msgs []kafka.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pc.w.WriteMessages(ctx, msgs...)
}
