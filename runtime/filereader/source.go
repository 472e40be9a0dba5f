package filereader

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
)

// Source replays recorded data: a file, or standard input for path
// "-", in the file writer's framing ("lines" or "length"). Records get the
// path as topic, partition 0, and their 0-based position as offset. There
// are no offsets to commit: a replay starts from the beginning.
type Source struct {
	id    string
	cfg   Config
	stdin io.Reader
	log   *slog.Logger
}

// NewSource returns the file inbound client with id. Zero fields of
// cfg take the file_reader client's defaults.
func NewSource(id string, cfg Config, log *slog.Logger) (*Source, error) {
	return buildSource(id, defaults(cfg), log)
}

// buildSource is NewSource for a cfg whose defaults are applied.
func buildSource(id string, cfg Config, log *slog.Logger) (*Source, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("file reader %q: no file", id)
	}
	switch cfg.Framing {
	case "lines", "length":
	default:
		return nil, fmt.Errorf("file reader %q: framing %q: want lines or length", id, cfg.Framing)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Source{id: id, cfg: cfg, stdin: os.Stdin, log: log.With("component", "file_reader", "client", id)}, nil
}

// Run implements Source.
func (s *Source) Run(ctx context.Context, intake runtime.Intake) error {
	r := s.stdin
	name := "stdin"
	if s.cfg.Path != "-" {
		f, err := os.Open(s.cfg.Path)
		if err != nil {
			return fmt.Errorf("file reader %q: %w", s.id, err)
		}
		defer f.Close()
		r, name = f, s.cfg.Path
	}
	lane := intake.Open(s.id, name, 0)
	drain := func() {
		// At the end of the input the drain waits for every record to
		// finish; on shutdown (before the drain or during it, e.g. while
		// an outbound client is down) in-flight work gets the usual drain
		// budget, then the drain gives up and the shutdown goes on.
		dctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainBudget, cancel) })
		defer stop()
		lane.Drain(dctx)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	var (
		off  int64
		recs []runtime.Record
	)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		err := lane.Submit(ctx, recs)
		recs = recs[:0]
		return err
	}
	for ctx.Err() == nil {
		v, err := s.next(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = flush()
			drain()
			return fmt.Errorf("file reader %q: record %d: %w", s.id, off, err)
		}
		recs = append(recs, runtime.Record{Topic: name, Offset: off, Value: v})
		off++
		if len(recs) == 256 {
			if err := flush(); err != nil {
				break
			}
		}
	}
	_ = flush()
	drain()
	if ctx.Err() != nil {
		return nil
	}
	s.log.Info("file replayed", "records", off)
	return runtime.ErrSourceDone
}

// drainBudget bounds a file source's drain at shutdown (a variable for
// tests).
var drainBudget = 5 * time.Second

func (s *Source) next(br *bufio.Reader) ([]byte, error) {
	if s.cfg.Framing == "length" {
		var n [4]byte
		if _, err := io.ReadFull(br, n[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("truncated length prefix")
			}
			return nil, err
		}
		v := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(br, v); err != nil {
			return nil, errors.New("truncated value")
		}
		return v, nil
	}
	line, err := br.ReadBytes('\n')
	if err == io.EOF && len(line) == 0 {
		return nil, io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return frame.DecodeLine(line), nil
}
