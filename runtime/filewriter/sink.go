package filewriter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
)

const (
	// fileBufferSize is the write buffer of each file; a full buffer is
	// written out by the writer that fills it and wakes the flusher.
	fileBufferSize = frame.BufferSize
	// readyWindow is how long a failed write keeps Ready failing when no
	// write has succeeded since (as the Kafka producer's).
	readyWindow = 30 * time.Second
)

// ErrInvalidUTF8 is wrapped in the error of a message whose value is not
// valid UTF-8 while the file writer is in text mode.
var ErrInvalidUTF8 = errors.New("value is not valid UTF-8")

// Sink is the file outbound client. With "{}" in the configured path
// each worker writes its own file, the worker id replacing "{}"
// (/tmp/out{}.log → /tmp/out0.log, /tmp/out1.log, ...); without it all
// workers share one file.
//
// Framing "lines" (the default) writes each record as its value followed
// by '\n'. So that a value may hold newlines, two bytes of the value are
// escaped: '\\' is written as `\\` (two backslashes) and '\n' as `\n` (a
// backslash and the letter n); every other byte, '\r' included, is written
// as it is. A value holding neither byte is written unchanged. DecodeLine
// reverses the escaping of one line.
//
// Framing "length" writes a 4-byte big-endian length, then the value as
// it is.
//
// Text mode (no "b" in the mode) requires values in valid UTF-8, the only
// encoding supported; a value that is not fails its message with a
// permanent error. Binary mode writes values as they are. Append mode
// keeps what the files hold; truncate mode empties them when the sink
// opens.
//
// Writes go to a 64 KiB buffer per file; a Write that fills it writes it
// to the file (no fsync) and wakes the file's flusher goroutine. The
// flusher writes the buffer out, fsyncs the file, and only then
// acknowledges the records the fsync covers: every FlushInterval (default
// 100ms), as soon as a buffer fills, and on Close. A write or fsync error (disk full)
// fails every record not yet acknowledged, and the file is cut back to its
// last fsynced size, so it never keeps a partial record.
type Sink struct {
	files     []*fileOut // one per worker, or one shared
	perWorker bool
	closed    atomic.Bool
	closeErr  error // handed to messages that race with Close

	closeOnce sync.Once
	closeRes  error
}

// fileHandle is the part of *os.File a fileOut uses (tests fake it).
type fileHandle interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// fileOut is one output file and its flusher.
type fileOut struct {
	path     string
	log      *slog.Logger
	lines    bool // framing "lines", else "length"
	text     bool // values must be valid UTF-8
	interval time.Duration

	mu     sync.Mutex
	f      fileHandle
	bw     *bufio.Writer
	acks   []runtime.Acker // records handed to bw since the last flush
	size   int64           // file size once bw is written out
	werr   error           // first write error since the last flush
	broken error           // the file could not be cut back after an error
	closed bool

	// Owned by the flusher goroutine.
	synced int64           // file size covered by the last good fsync
	spare  []runtime.Acker // the other acks slice, swapped in at each flush
	fin    runtime.Acks    // finishes the acknowledged records in runs

	lastOK   atomic.Int64 // unix nanos of the last good flush with records
	lastFail atomic.Pointer[fileFailure]

	kick chan struct{} // a buffer filled or a write failed; capacity 1
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the flusher returned
	res  error         // the final flush and close, read after done
}

type fileFailure struct {
	at  int64 // unix nanos
	err error
}

// NewSink opens the file (or one per worker, for workers ≥ 1) of cfg
// and starts their flushers. Close releases them. Zero fields of cfg take
// the file_writer client's defaults.
func NewSink(cfg Config, workers int, log *slog.Logger) (*Sink, error) {
	return buildSink(defaults(cfg), workers, log)
}

// buildSink is NewSink for a cfg whose defaults are applied.
func buildSink(cfg Config, workers int, log *slog.Logger) (*Sink, error) {
	mode := cfg.FileMode.Perm()
	return newSink(cfg, workers, log, func(path string, truncate bool) (fileHandle, int64, error) {
		return openFile(path, truncate, mode, cfg.FollowSymlinks)
	})
}

// openFile opens path for appending (truncating it first when truncate is
// set), creating it with mode. Unless follow is set, a symbolic link at
// path is refused (O_NOFOLLOW where the system has it, an Lstat check
// besides), so that mode "w" never truncates a file the link points at.
func openFile(path string, truncate bool, mode os.FileMode, follow bool) (fileHandle, int64, error) {
	flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if truncate {
		flag |= os.O_TRUNC
	}
	if !follow {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, 0, fmt.Errorf("%s is a symbolic link: refused (set follow_symlinks to write through it)", path)
		}
		flag |= oNoFollow
	}
	f, err := os.OpenFile(path, flag, mode)
	if err != nil {
		if !follow && errors.Is(err, syscall.ELOOP) {
			return nil, 0, fmt.Errorf("%s is a symbolic link: refused (set follow_symlinks to write through it)", path)
		}
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	// Make a newly created file's directory entry durable too. Some file
	// systems cannot fsync a directory: that is not worth failing for.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return f, st.Size(), nil
}

func newSink(cfg Config, workers int, log *slog.Logger,
	open func(path string, truncate bool) (fileHandle, int64, error)) (*Sink, error) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", Name)
	if cfg.Path == "" {
		return nil, errors.New("file writer: no path")
	}
	var lines bool
	switch cfg.Framing {
	case "", "lines":
		lines = true
	case "length":
	default:
		return nil, fmt.Errorf("file writer: framing %q: want lines or length", cfg.Framing)
	}
	if cfg.Binary && cfg.Encoding != "" {
		return nil, fmt.Errorf("file writer: encoding %q: binary mode takes no encoding", cfg.Encoding)
	}
	switch strings.ToLower(cfg.Encoding) {
	case "", "utf-8", "utf8":
	default:
		return nil, fmt.Errorf("file writer: encoding %q: only utf-8 is supported", cfg.Encoding)
	}
	interval := cfg.FlushInterval
	if interval <= 0 {
		return nil, fmt.Errorf("file writer: flush interval %v: want a positive duration", interval)
	}
	workers = max(workers, 1)

	s := &Sink{
		perWorker: strings.Contains(cfg.Path, "{}"),
		closeErr:  &runtime.OutboundError{Client: Name, Err: runtime.ErrClosed},
	}
	paths := []string{cfg.Path}
	if s.perWorker {
		paths = make([]string, workers)
		for w := range paths {
			paths[w] = strings.ReplaceAll(cfg.Path, "{}", strconv.Itoa(w))
		}
	}
	for _, p := range paths {
		f, size, err := open(p, !cfg.Append)
		if err != nil {
			for _, fo := range s.files {
				fo.f.Close()
			}
			return nil, fmt.Errorf("file writer: %w", err)
		}
		s.files = append(s.files, &fileOut{
			path:     p,
			log:      log.With("path", p),
			lines:    lines,
			text:     !cfg.Binary,
			interval: interval,
			f:        f,
			bw:       bufio.NewWriterSize(f, fileBufferSize),
			size:     size,
			synced:   size,
			kick:     make(chan struct{}, 1),
			stop:     make(chan struct{}),
			done:     make(chan struct{}),
		})
	}
	for _, fo := range s.files {
		go fo.run()
	}
	return s, nil
}

// Write appends msgs to their files (by Message.Worker when the path has
// "{}") and returns once they are buffered; each Acker is called after
// the fsync covering its record. It does not keep msgs. It returns
// ErrClosed, calling no Acker, after Close.
func (s *Sink) Write(ctx context.Context, msgs []runtime.Message) error {
	if s.closed.Load() {
		return runtime.ErrClosed
	}
	for i := 0; i < len(msgs); {
		fo := s.files[0]
		if s.perWorker {
			w := msgs[i].Worker
			if w < 0 || w >= len(s.files) {
				done(msgs[i].Ack, &runtime.OutboundError{Client: Name, Permanent: true,
					Err: fmt.Errorf("worker %d: no file (workers 0 to %d)", w, len(s.files)-1)})
				i++
				continue
			}
			fo = s.files[w]
		}
		j := i + 1
		for s.perWorker && j < len(msgs) && msgs[j].Worker == msgs[i].Worker {
			j++
		}
		if !s.perWorker {
			j = len(msgs)
		}
		fo.write(msgs[i:j], s.closeErr)
		i = j
	}
	return nil
}

func done(a runtime.Acker, err error) {
	if a != nil {
		a.Done(err)
	}
}

// write buffers msgs; their Ackers join the file's pending list. Errors
// found here (invalid UTF-8, closed) are reported after the lock is
// released: an Acker may call back into the sink.
func (fo *fileOut) write(msgs []runtime.Message, closeErr error) {
	var rejected []int
	fo.mu.Lock()
	if fo.closed || fo.broken != nil {
		err := fo.broken
		fo.mu.Unlock()
		if err == nil {
			err = closeErr
		}
		for i := range msgs {
			done(msgs[i].Ack, err)
		}
		return
	}
	filled := false
	for i := range msgs {
		v := msgs[i].Value
		if (fo.text && !utf8.Valid(v)) || (!fo.lines && uint64(len(v)) > math.MaxUint32) {
			rejected = append(rejected, i)
			continue
		}
		avail := fo.bw.Available()
		var n int
		var err error
		if fo.lines {
			n, err = frame.WriteLine(fo.bw, v)
		} else {
			n, err = frame.WriteLength(fo.bw, v)
		}
		if n > avail {
			filled = true
		}
		fo.size += int64(n)
		if err != nil && fo.werr == nil {
			fo.werr = err
			filled = true
		}
		if a := msgs[i].Ack; a != nil {
			fo.acks = append(fo.acks, a)
		}
	}
	fo.mu.Unlock()
	if filled {
		select {
		case fo.kick <- struct{}{}:
		default:
		}
	}
	for _, i := range rejected {
		err := ErrInvalidUTF8
		if !fo.text || utf8.Valid(msgs[i].Value) {
			err = errors.New("value longer than 4 GiB")
		}
		done(msgs[i].Ack, &runtime.OutboundError{Client: Name, Err: err, Permanent: true})
	}
}

// DecodeLine returns the value of one line written with the "lines"
// framing, given without its final '\n': `\n` becomes a newline and `\\` a
// backslash. Any other backslash is kept as it is, so decoding never
// fails. It returns line itself when it holds no backslash.
func DecodeLine(line []byte) []byte { return frame.DecodeLine(line) }

// run is the file's flusher: it flushes on every tick and kick, and a last
// time on stop, then closes the file.
func (fo *fileOut) run() {
	defer close(fo.done)
	tick := time.NewTicker(fo.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fo.flush()
		case <-fo.kick:
			fo.flush()
		case <-fo.stop:
			err := fo.flush()
			if err == nil {
				fo.mu.Lock()
				err = fo.broken
				fo.mu.Unlock()
			}
			if cerr := fo.f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close %s: %w", fo.path, cerr)
			}
			fo.res = err
			return
		}
	}
}

// flush writes the buffer out, fsyncs, and acknowledges the records the
// fsync covers. On error it fails every pending record and cuts the file
// back to its last fsynced size.
func (fo *fileOut) flush() error {
	fo.mu.Lock()
	if len(fo.acks) == 0 && fo.werr == nil && fo.size == fo.synced {
		fo.mu.Unlock()
		return nil
	}
	err := fo.werr
	if err == nil {
		err = fo.bw.Flush()
	}
	acks := fo.acks
	fo.acks = fo.spare[:0]
	size := fo.size
	if err != nil {
		fo.rollback()
		fo.mu.Unlock()
		return fo.fail(acks, "write", err)
	}
	fo.mu.Unlock()

	// Writers go on filling the buffer while the file syncs; their records
	// wait for the next flush.
	if err := fo.f.Sync(); err != nil {
		fo.mu.Lock()
		acks = append(acks, fo.acks...) // their bytes are cut off too
		clear(fo.acks)
		fo.acks = fo.acks[:0]
		fo.rollback()
		fo.mu.Unlock()
		return fo.fail(acks, "fsync", err)
	}
	fo.synced = size
	if len(acks) > 0 {
		fo.lastOK.Store(time.Now().UnixNano())
	}
	fo.fin.Succeed(acks)
	clear(acks)
	fo.spare = acks[:0]
	return nil
}

// rollback cuts the file back to its last fsynced size and drops the
// buffer, so no partial record stays. fo.mu must be held.
func (fo *fileOut) rollback() {
	if err := fo.f.Truncate(fo.synced); err != nil {
		fo.broken = &runtime.OutboundError{Client: Name, Permanent: true,
			Err: fmt.Errorf("truncate %s after a failed write: %w", fo.path, err)}
		fo.log.Error("file may hold a partial record; failing every later write", "err", err)
	}
	fo.bw.Reset(fo.f)
	fo.size = fo.synced
	fo.werr = nil
}

// fail reports err to acks, logs it once, and returns it wrapped.
func (fo *fileOut) fail(acks []runtime.Acker, op string, err error) error {
	oerr := &runtime.OutboundError{
		Client:    Name,
		Err:       fmt.Errorf("%s %s: %w", op, fo.path, err),
		Permanent: !fileRetryable(err),
	}
	fo.lastFail.Store(&fileFailure{at: time.Now().UnixNano(), err: oerr})
	fo.log.Warn("write failed; records not acknowledged", "records", len(acks), "err", err)
	for _, a := range acks {
		a.Done(oerr)
	}
	clear(acks)
	fo.spare = acks[:0]
	return oerr
}

// fileRetryable reports whether writing again may succeed. Permanent: the
// file system refuses this file for good — read-only (EROFS), file too
// large (EFBIG), permission denied (EACCES, EPERM), bad descriptor (EBADF,
// the file was closed). Everything else is retryable: above all a full
// disk or quota (ENOSPC, EDQUOT), which space freed elsewhere cures, and
// I/O errors (EIO), which may be transient on network file systems.
func fileRetryable(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EROFS, syscall.EFBIG, syscall.EACCES, syscall.EPERM, syscall.EBADF} {
		if errors.Is(err, errno) {
			return false
		}
	}
	return !errors.Is(err, os.ErrClosed)
}

// Ready returns nil when every file works: none is broken, and on each
// the last failed flush (if any) is older than 30s or was followed by a
// good one. Otherwise it returns the failure. After Close it returns
// ErrClosed.
func (s *Sink) Ready() error {
	if s.closed.Load() {
		return runtime.ErrClosed
	}
	now := time.Now().UnixNano()
	for _, fo := range s.files {
		fo.mu.Lock()
		broken := fo.broken
		fo.mu.Unlock()
		if broken != nil {
			return broken
		}
		f := fo.lastFail.Load()
		if f != nil && fo.lastOK.Load() < f.at && time.Duration(now-f.at) < readyWindow {
			return f.err
		}
	}
	return nil
}

// Flush implements Flusher: every file's flusher writes out, fsyncs and
// acknowledges what it holds now rather than at its next tick.
func (s *Sink) Flush() {
	for _, fo := range s.files {
		select {
		case fo.kick <- struct{}{}:
		default:
		}
	}
}

// Close stops taking messages, flushes and fsyncs every file, acknowledges
// (or fails) every record, and closes the files, within ctx. If ctx ends
// first it returns ctx's error; the flushers still finish in the
// background and call the remaining Ackers. Later calls return the first
// call's result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeRes = s.close(ctx) })
	return s.closeRes
}

func (s *Sink) close(ctx context.Context) error {
	s.closed.Store(true)
	for _, fo := range s.files {
		fo.mu.Lock()
		fo.closed = true
		fo.mu.Unlock()
		close(fo.stop)
	}
	var errs []error
	for _, fo := range s.files {
		select {
		case <-fo.done:
			if fo.res != nil {
				errs = append(errs, fo.res)
			}
		case <-ctx.Done():
			return fmt.Errorf("file writer close: %w", ctx.Err())
		}
	}
	return errors.Join(errs...)
}
