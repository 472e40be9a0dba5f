package stdout

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
)

// stdoutFlushInterval bounds how long a record written to stdout waits in
// the buffer (and for its acknowledgement).
const stdoutFlushInterval = 100 * time.Millisecond

// Sink is the stdout outbound client: it writes each record to an
// io.Writer (os.Stdout in generated projects) through a 64 KiB buffer, and
// acknowledges records once the buffer holding them was written to the
// writer: every 100ms, when the buffer fills, and on Close.
//
// Format "value" (the default) writes the value and a newline, escaped as
// the file writer's "lines" framing does (see filewriter.Sink; filewriter.DecodeLine reverses
// it). Format "json" writes one JSON object per line:
//
//	{"key":K,"value":V,"headers":{"name":H,...}}
//
// where K, V and each H are JSON strings when the bytes are valid UTF-8,
// and {"base64":"..."} (standard encoding, padded) otherwise; a nil key is
// null. Headers with the same name are all written, in order; "headers"
// is {} when there are none.
type Sink struct {
	json bool

	mu      sync.Mutex
	bw      *bufio.Writer
	acks    []runtime.Acker
	scratch []byte // one JSON record, reused
	dirty   bool   // bytes in bw since the last flush
	err     error  // sticky: the writer failed
	closed  bool

	spare    []runtime.Acker // owned by the flusher
	fin      runtime.Acks    // owned by the flusher
	isClosed atomic.Bool
	kick     chan struct{} // the buffer filled; capacity 1
	stop     chan struct{}
	done     chan struct{}

	flushRes  error // the final flush, set by run before done closes
	closeOnce sync.Once
	closeRes  error
}

// NewSink returns a sink writing to w in cfg's format and starts its
// flusher; Close stops it.
func NewSink(cfg Config, w io.Writer) (*Sink, error) {
	s := &Sink{
		bw:   bufio.NewWriterSize(w, frame.BufferSize),
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	switch cfg.Format {
	case "", "value":
	case "json":
		s.json = true
	default:
		return nil, fmt.Errorf("stdout: format %q: want value or json", cfg.Format)
	}
	go s.run()
	return s, nil
}

// Write buffers msgs and returns; each Acker is called once the bytes of
// its record were written to the writer. It does not keep msgs. It
// returns ErrClosed, calling no Acker, after Close.
func (s *Sink) Write(ctx context.Context, msgs []runtime.Message) error {
	if s.isClosed.Load() {
		return runtime.ErrClosed
	}
	s.mu.Lock()
	if s.closed || s.err != nil {
		err := s.err
		s.mu.Unlock()
		if err == nil {
			err = &runtime.OutboundError{Client: Name, Err: runtime.ErrClosed}
		}
		for i := range msgs {
			if a := msgs[i].Ack; a != nil {
				a.Done(err)
			}
		}
		return nil
	}
	filled := false
	for i := range msgs {
		m := &msgs[i]
		avail := s.bw.Available()
		var n int
		if s.json {
			s.scratch = appendJSONRecord(s.scratch[:0], m)
			n, _ = s.bw.Write(s.scratch) // errors are sticky: seen at flush
		} else {
			n, _ = frame.WriteLine(s.bw, m.Value)
		}
		if n > avail {
			filled = true
		}
		s.dirty = true
		if m.Ack != nil {
			s.acks = append(s.acks, m.Ack)
		}
	}
	s.mu.Unlock()
	if filled {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// appendJSONRecord appends m as one line of the "json" format.
func appendJSONRecord(b []byte, m *runtime.Message) []byte {
	b = append(b, `{"key":`...)
	if m.Key == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONBytes(b, m.Key)
	}
	b = append(b, `,"value":`...)
	b = appendJSONBytes(b, m.Value)
	b = append(b, `,"headers":{`...)
	for i, h := range m.Headers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, h.Key)
		b = append(b, ':')
		b = appendJSONBytes(b, h.Value)
	}
	return append(b, "}}\n"...)
}

// appendJSONBytes appends v as a JSON string when it is valid UTF-8, as
// {"base64":"..."} otherwise.
func appendJSONBytes(b, v []byte) []byte {
	if utf8.Valid(v) {
		return appendJSONString(b, v)
	}
	b = append(b, `{"base64":"`...)
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, `"}`...)
}

// appendJSONString appends s, valid UTF-8 or not (invalid bytes become
// U+FFFD), as a JSON string.
func appendJSONString[T ~string | ~[]byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))])) // at most 4 bytes: no allocation
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func (s *Sink) run() {
	defer close(s.done)
	tick := time.NewTicker(stdoutFlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.flush()
		case <-s.kick:
			s.flush()
		case <-s.stop:
			s.flushRes = s.flush()
			return
		}
	}
}

// flush writes the buffer out and acknowledges what it held. A writer
// error is final: every pending and later record fails with it.
func (s *Sink) flush() error {
	s.mu.Lock()
	if !s.dirty && len(s.acks) == 0 {
		err := s.err
		s.mu.Unlock()
		return err
	}
	if s.err == nil {
		if ferr := s.bw.Flush(); ferr != nil {
			s.err = &runtime.OutboundError{Client: Name, Err: fmt.Errorf("write: %w", ferr), Permanent: true}
		}
	}
	err := s.err
	s.dirty = false
	acks := s.acks
	s.acks = s.spare[:0]
	s.mu.Unlock()
	if err == nil {
		s.fin.Succeed(acks)
	} else {
		for _, a := range acks {
			a.Done(err)
		}
	}
	clear(acks)
	s.spare = acks[:0]
	return err
}

// Ready returns the writer's error once it failed (the sink then fails
// every record), ErrClosed after Close, and nil otherwise.
func (s *Sink) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return runtime.ErrClosed
	}
	return nil
}

// Flush implements Flusher: the flusher writes out and acknowledges what
// the buffer holds now rather than at its next tick.
func (s *Sink) Flush() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close stops taking messages, writes out the buffer and acknowledges (or
// fails) every record, within ctx. It does not close the writer. Later
// calls return the first call's result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.isClosed.Store(true)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		select {
		case <-s.done:
			s.closeRes = s.flushRes
		case <-ctx.Done():
			s.closeRes = fmt.Errorf("stdout close: %w", ctx.Err())
		}
	})
	return s.closeRes
}
