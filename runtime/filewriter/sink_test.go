package filewriter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/internal/frame"
	"github.com/kgen-dev/kgen/runtime/internal/sinktest"
	"go.uber.org/goleak"
)

// The acknowledgement log of runtime/internal/sinktest, under the name the
// tests use.
type ackLog = sinktest.AckLog

func newAckLog(t testing.TB, want int) *ackLog { return sinktest.NewAckLog(t, want) }

// sinkTestValues are values that stress the "lines" framing.
var sinkTestValues = sinktest.Values

func readLines(t *testing.T, data []byte) [][]byte { return sinktest.ReadLines(t, data) }

func readLengths(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 4 {
			t.Fatalf("torn length prefix: %q", data)
		}
		n := binary.BigEndian.Uint32(data)
		if uint32(len(data)-4) < n {
			t.Fatalf("torn record: want %d bytes, have %d", n, len(data)-4)
		}
		out = append(out, data[4:4+n])
		data = data[4+n:]
	}
	return out
}

func TestFileSinkFramingRoundTrip(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	binaryValue := []byte{0, 0xff, '\n', '\\', 0xfe, 'n'}
	for _, framing := range []string{"lines", "length"} {
		t.Run(framing, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			s, err := NewSink(Config{Path: path, Binary: true, Framing: framing}, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			values := append(append([][]byte{}, sinkTestValues...), binaryValue)
			acks := newAckLog(t, len(values))
			msgs := make([]runtime.Message, len(values))
			for i, v := range values {
				msgs[i] = runtime.Message{Value: v, Ack: acks.Ack(i)}
			}
			if err := s.Write(context.Background(), msgs); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			acks.Wait(time.Second)
			for i := range values {
				if err, _ := acks.Err(i); err != nil {
					t.Errorf("message %d: %v", i, err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			if framing == "lines" {
				if n := bytes.Count(data, []byte("\n")); n != len(values) {
					t.Errorf("%d newlines in the file, want one per record (%d)", n, len(values))
				}
				got = readLines(t, data)
			} else {
				got = readLengths(t, data)
			}
			if len(got) != len(values) {
				t.Fatalf("read %d records, want %d", len(got), len(values))
			}
			for i := range values {
				if !bytes.Equal(got[i], values[i]) {
					t.Errorf("record %d = %q, want %q", i, got[i], values[i])
				}
			}
		})
	}
}

func TestFileSinkLinesFramingBytes(t *testing.T) {
	tests := []struct{ value, line string }{
		{"plain", "plain\n"},
		{"a\nb", `a\nb` + "\n"},
		{`a\b`, `a\\b` + "\n"},
		{`\n`, `\\n` + "\n"},
		{"", "\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		n, err := frame.WriteLine(w, []byte(tt.value))
		if err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if buf.String() != tt.line || n != len(tt.line) {
			t.Errorf("frame.WriteLine(%q) = %q (n %d), want %q", tt.value, buf.String(), n, tt.line)
		}
	}
	// Lenient decoding: unknown escapes and a trailing backslash stay.
	if got := DecodeLine([]byte(`a\tb\`)); string(got) != `a\tb\` {
		t.Errorf("DecodeLine kept %q", got)
	}
}

// FuzzLineFraming states the "lines" framing invariants: the encoded record
// holds exactly one newline, at its end, and decodes to the value.
func FuzzLineFraming(f *testing.F) {
	for _, v := range sinkTestValues {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		n, err := frame.WriteLine(w, v)
		if err != nil {
			t.Fatal(err)
		}
		w.Flush()
		line := buf.Bytes()
		if n != len(line) || bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("encoded %q as %q (n %d)", v, line, n)
		}
		if got := DecodeLine(line[:len(line)-1]); !bytes.Equal(got, v) {
			t.Fatalf("DecodeLine(%q) = %q, want %q", line, got, v)
		}
	})
}

func TestFileSinkPerWorkerFiles(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	const workers = 3
	s, err := NewSink(Config{Path: filepath.Join(dir, "out{}.log")}, workers, nil)
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog(t, 3*workers+1)
	var msgs []runtime.Message
	for i := range 3 * workers {
		msgs = append(msgs, runtime.Message{Value: fmt.Appendf(nil, "w%d-%d", i%workers, i), Worker: i % workers, Ack: acks.Ack(i)})
	}
	msgs = append(msgs, runtime.Message{Value: []byte("nowhere"), Worker: workers, Ack: acks.Ack(3 * workers)})
	if err := s.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	acks.Wait(time.Second)
	if err, _ := acks.Err(3 * workers); !runtime.IsPermanent(err) {
		t.Errorf("worker out of range: err = %v, want a permanent error", err)
	}
	for w := range workers {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out%d.log", w)))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("w%d-%d\nw%d-%d\nw%d-%d\n", w, w, w, w+workers, w, w+2*workers)
		if string(data) != want {
			t.Errorf("out%d.log = %q, want %q", w, data, want)
		}
	}

	// Without {} every worker shares one file.
	shared := filepath.Join(dir, "shared.log")
	s, err = NewSink(Config{Path: shared}, workers, nil)
	if err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if err := s.Write(context.Background(), []runtime.Message{{Value: fmt.Appendf(nil, "w%d", w), Worker: w}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(shared); string(data) != "w0\nw1\nw2\n" {
		t.Errorf("shared.log = %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != workers+1 {
		t.Errorf("%d files in the directory, want %d", len(entries), workers+1)
	}
}

func TestFileSinkAppendVsTruncate(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tt := range []struct {
		append bool
		want   string
	}{{true, "old\nnew\n"}, {false, "new\n"}} {
		t.Run(fmt.Sprint("append=", tt.append), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := NewSink(Config{Path: path, Append: tt.append}, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("new")}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.want {
				t.Errorf("file = %q, want %q", data, tt.want)
			}
		})
	}
}

// TestFileSinkAckAfterFlush checks that every ack comes on the flush
// interval (not only at Close) and that its record is in the file when it
// does; and that nothing is acknowledged while its bytes are only buffered.
func TestFileSinkAckAfterFlush(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	path := filepath.Join(t.TempDir(), "out.log")
	s, err := NewSink(Config{Path: path, FlushInterval: 20 * time.Millisecond}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	acks := newAckLog(t, n)
	acks.OnDone = func(i int, err error) {
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Error(rerr)
			return
		}
		if !bytes.Contains(data, fmt.Appendf(nil, "record %d\n", i)) {
			t.Errorf("record %d acknowledged (err %v) before it is in the file", i, err)
		}
	}
	for i := range n {
		if err := s.Write(context.Background(), []runtime.Message{{Value: fmt.Appendf(nil, "record %d", i), Ack: acks.Ack(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	acks.Wait(2 * time.Second) // before Close: the interval flushes
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// With a long interval a small record waits in the buffer, unacknowledged,
	// until Close.
	path2 := filepath.Join(t.TempDir(), "slow.log")
	s, err = NewSink(Config{Path: path2, FlushInterval: time.Hour}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow := newAckLog(t, 1)
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("x"), Ack: slow.Ack(0)}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if slow.Count() != 0 {
		t.Error("acknowledged before any flush")
	}
	if data, _ := os.ReadFile(path2); len(data) != 0 {
		t.Errorf("file holds %q before any flush", data)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	slow.Wait(time.Second)
	if data, _ := os.ReadFile(path2); string(data) != "x\n" {
		t.Errorf("file = %q after Close", data)
	}
}

// TestFileSinkFullBufferFlushes checks that filling the buffer flushes
// without waiting for the interval.
func TestFileSinkFullBufferFlushes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	path := filepath.Join(t.TempDir(), "out.log")
	s, err := NewSink(Config{Path: path, FlushInterval: time.Hour}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	value := bytes.Repeat([]byte("v"), 1023)
	n := 2 * fileBufferSize / 1024
	acks := newAckLog(t, n)
	for i := range n {
		if err := s.Write(context.Background(), []runtime.Message{{Value: value, Ack: acks.Ack(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// The last buffer-full of records waits for the interval; the first
	// must have been acknowledged without it.
	deadline := time.Now().Add(2 * time.Second)
	for acks.Count() < fileBufferSize/1024 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := acks.Count(); c < fileBufferSize/1024 {
		t.Errorf("%d records acknowledged after filling the buffer twice, want at least %d", c, fileBufferSize/1024)
	}
}

func TestFileSinkTextRequiresUTF8(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tt := range []struct {
		binary   bool
		encoding string
		wantErr  bool
	}{{false, "", true}, {false, "UTF-8", true}, {true, "", false}} {
		path := filepath.Join(t.TempDir(), "out.log")
		s, err := NewSink(Config{Path: path, Binary: tt.binary, Encoding: tt.encoding}, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		acks := newAckLog(t, 3)
		err = s.Write(context.Background(), []runtime.Message{
			{Value: []byte("ok"), Ack: acks.Ack(0)},
			{Value: []byte{'b', 0xff, 'd'}, Ack: acks.Ack(1)},
			{Value: []byte("ok too"), Ack: acks.Ack(2)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		acks.Wait(time.Second)
		bad, _ := acks.Err(1)
		if tt.wantErr && (!errors.Is(bad, ErrInvalidUTF8) || !runtime.IsPermanent(bad)) {
			t.Errorf("text mode: invalid value got %v, want a permanent ErrInvalidUTF8", bad)
		}
		if !tt.wantErr && bad != nil {
			t.Errorf("binary mode: %v", bad)
		}
		want := "ok\nok too\n"
		if !tt.wantErr {
			want = "ok\nb\xffd\nok too\n"
		}
		if data, _ := os.ReadFile(path); string(data) != want {
			t.Errorf("file = %q, want %q", data, want)
		}
	}
}

// faultyFile is a fileHandle in memory whose writes and fsyncs can fail.
type faultyFile struct {
	mu        sync.Mutex
	data      []byte
	failWrite atomic.Bool
	failSync  atomic.Bool
	syncs     int
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite.Load() {
		// A partial write, as a full disk gives.
		half := len(p) / 2
		f.data = append(f.data, p[:half]...)
		return half, syscall.ENOSPC
	}
	f.data = append(f.data, p...)
	return len(p), nil
}

func (f *faultyFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	if f.failSync.Load() {
		return syscall.EIO
	}
	return nil
}

func (f *faultyFile) Truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = f.data[:size]
	return nil
}

func (f *faultyFile) Close() error { return nil }

func (f *faultyFile) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.data)
}

// TestFileSinkWriteErrors checks that a failed write or fsync fails the
// records it affects (retryable, for a full disk), leaves no partial record
// in the file, and that writing resumes once the fault is gone.
func TestFileSinkWriteErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, fault := range []string{"write", "fsync"} {
		t.Run(fault, func(t *testing.T) {
			f := &faultyFile{}
			s, err := newSink(Config{Path: "fake", FlushInterval: 10 * time.Millisecond}, 1, sinkTestLogger(),
				func(string, bool) (fileHandle, int64, error) { return f, 0, nil })
			if err != nil {
				t.Fatal(err)
			}
			write := func(v string) *ackLog {
				acks := newAckLog(t, 1)
				if err := s.Write(context.Background(), []runtime.Message{{Value: []byte(v), Ack: acks.Ack(0)}}); err != nil {
					t.Fatal(err)
				}
				acks.Wait(2 * time.Second)
				return acks
			}
			if err, _ := write("first").Err(0); err != nil {
				t.Fatalf("first: %v", err)
			}
			if fault == "write" {
				f.failWrite.Store(true)
			} else {
				f.failSync.Store(true)
			}
			err, _ = write("second").Err(0)
			var oe *runtime.OutboundError
			if !errors.As(err, &oe) || oe.Client != Name || oe.Permanent || !strings.Contains(err.Error(), "fake") {
				t.Errorf("during the fault: err = %v, want a retryable file writer error naming the file", err)
			}
			if got := f.String(); got != "first\n" {
				t.Errorf("after the fault the file holds %q, want only the first record", got)
			}
			if err := s.Ready(); err == nil {
				t.Error("Ready = nil after a failed flush")
			}
			f.failWrite.Store(false)
			f.failSync.Store(false)
			if err, _ := write("third").Err(0); err != nil {
				t.Errorf("after the fault: %v", err)
			}
			if err := s.Ready(); err != nil {
				t.Errorf("Ready = %v after a good flush", err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := f.String(); got != "first\nthird\n" {
				t.Errorf("file = %q, want first and third", got)
			}
		})
	}
}

// TestFileSinkCloseAcksEverything writes from many goroutines while Close
// runs: every accepted record is acknowledged exactly once and is in the
// file; a Write refused with ErrClosed calls no Acker.
func TestFileSinkCloseAcksEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	const workers, perWorker = 4, 2000
	s, err := NewSink(Config{Path: filepath.Join(dir, "out{}.log"), FlushInterval: time.Hour}, workers, nil)
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog(t, workers*perWorker)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := w*perWorker + i
				err := s.Write(context.Background(), []runtime.Message{{Value: fmt.Appendf(nil, "%d", id), Worker: w, Ack: acks.Ack(id)}})
				if errors.Is(err, runtime.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				accepted.Add(1)
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := s.Write(context.Background(), []runtime.Message{{Value: []byte("late"), Ack: acks.Ack(-1)}}); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if got := int64(acks.Count()); got != accepted.Load() {
		t.Errorf("%d acks for %d accepted records", got, accepted.Load())
	}
	onDisk := 0
	for w := range workers {
		data, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out%d.log", w)))
		onDisk += bytes.Count(data, []byte("\n"))
	}
	failed := acks.Failed()
	if int64(onDisk+failed) != accepted.Load() {
		t.Errorf("%d records on disk + %d failed (closed under a Write), want %d accepted", onDisk, failed, accepted.Load())
	}
}

func TestFileSinkConfigErrors(t *testing.T) {
	dir := t.TempDir()
	missingDir := filepath.Join(dir, "no", "such", "dir", "out.log")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no path", Config{}, "no path"},
		{"framing", Config{Path: filepath.Join(dir, "a"), Framing: "csv"}, `framing "csv"`},
		{"encoding", Config{Path: filepath.Join(dir, "a"), Encoding: "latin-1"}, `encoding "latin-1"`},
		{"binary with encoding", Config{Path: filepath.Join(dir, "a"), Binary: true, Encoding: "utf-8"}, "binary mode takes no encoding"},
		{"unopenable", Config{Path: missingDir}, missingDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSink(tt.cfg, 1, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// countAcker counts acknowledgements without allocating.
type countAcker struct{ ok, failed atomic.Int64 }

func (c *countAcker) Done(err error) {
	if err != nil {
		c.failed.Add(1)
		return
	}
	c.ok.Add(1)
}

// BenchmarkFileSinkWrite measures the cost of Write for 100-byte values:
// one message per call, and batches of 64, from parallel writers to one
// shared file and to per-worker files. The flushes (write, fsync, acks)
// run on the flusher goroutines and are included in the time; the no_disk
// cases use a file that discards, to show the cost of Write itself.
func BenchmarkFileSinkWrite(b *testing.B) {
	value := bytes.Repeat([]byte("0123456789"), 10)
	value[50] = '\n' // one escape per record
	for _, bc := range []struct {
		name   string
		path   string
		batch  int
		memory bool // a file that discards: the cost without system calls
	}{
		{"shared/batch1", "out.log", 1, false},
		{"shared/batch64", "out.log", 64, false},
		{"per_worker/batch1", "out{}.log", 1, false},
		{"per_worker/batch64", "out{}.log", 64, false},
		{"no_disk/shared/batch1", "out.log", 1, true},
		{"no_disk/per_worker/batch1", "out{}.log", 1, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const workers = 8
			open := func(p string, tr bool) (fileHandle, int64, error) { return openFile(p, tr, 0o600, false) }
			if bc.memory {
				open = func(string, bool) (fileHandle, int64, error) { return discardFile{}, 0, nil }
			}
			s, err := newSink(defaults(Config{Path: filepath.Join(b.TempDir(), bc.path), Binary: true}), workers, nil, open)
			if err != nil {
				b.Fatal(err)
			}
			ack := &countAcker{}
			var next atomic.Int64
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := int(next.Add(1)-1) % workers
				msgs := make([]runtime.Message, bc.batch)
				for i := range msgs {
					msgs[i] = runtime.Message{Value: value, Worker: w, Ack: ack}
				}
				n := 0
				for pb.Next() {
					n++
					if n < bc.batch {
						continue
					}
					n = 0
					if err := s.Write(context.Background(), msgs); err != nil {
						b.Error(err)
						return
					}
				}
				if n > 0 {
					if err := s.Write(context.Background(), msgs[:n]); err != nil {
						b.Error(err)
					}
				}
			})
			if err := s.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if ack.failed.Load() != 0 || ack.ok.Load() != int64(b.N) {
				b.Fatalf("acks: %d ok, %d failed, want %d ok", ack.ok.Load(), ack.failed.Load(), b.N)
			}
		})
	}
}

// sinkTestLogger discards the sinks' logs.
func sinkTestLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// discardFile is a fileHandle that keeps nothing.
type discardFile struct{}

func (discardFile) Write(p []byte) (int, error) { return len(p), nil }
func (discardFile) Sync() error                 { return nil }
func (discardFile) Truncate(int64) error        { return nil }
func (discardFile) Close() error                { return nil }
