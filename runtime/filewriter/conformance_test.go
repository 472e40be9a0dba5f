package filewriter_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kgen-dev/kgen/runtime/clienttest"
	"github.com/kgen-dev/kgen/runtime/filewriter"
)

// TestFileConformance runs the sink conformance suite on the file writer
// with one file per worker. Each file is the real one, seen through a
// handle that records how much of it the last fsync covered: ReadBack
// returns only that (durable is "fsynced"), and the handle injects write
// and fsync errors (ENOSPC: transient; EROFS: permanent).
func TestFileConformance(t *testing.T) {
	clienttest.TestSink(t, func(t *testing.T, _ clienttest.SinkOptions) clienttest.SinkSetup {
		const workers = 3
		cfg := filewriter.Config{Path: filepath.Join(t.TempDir(), "out{}.log"), FlushInterval: 5 * time.Millisecond}
		var (
			mu    sync.Mutex
			files = map[string]*syncedFile{}
		)
		s, err := filewriter.NewSinkOpen(cfg, workers, slog.New(slog.DiscardHandler), func(path string, truncate bool) (filewriter.FileHandle, int64, error) {
			f, size, err := filewriter.OpenFileForTest(path, truncate, cfg)
			if err != nil {
				return nil, 0, err
			}
			sf := &syncedFile{FileHandle: f, path: path, size: size, synced: size}
			mu.Lock()
			files[path] = sf
			mu.Unlock()
			return sf, size, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		inject := func(errno syscall.Errno) func() func() {
			return func() func() {
				mu.Lock()
				defer mu.Unlock()
				for _, f := range files {
					f.setFault(errno)
				}
				return func() {
					mu.Lock()
					defer mu.Unlock()
					for _, f := range files {
						f.setFault(0)
					}
				}
			}
		}
		return clienttest.SinkSetup{
			Sink:    s,
			Workers: workers,
			ReadBack: func(t testing.TB) [][][]byte {
				var parts [][][]byte
				for w := range workers {
					mu.Lock()
					f := files[filepath.Join(filepath.Dir(cfg.Path), "out"+string(rune('0'+w))+".log")]
					mu.Unlock()
					parts = append(parts, f.readSynced(t))
				}
				return parts
			},
			FailTransient: inject(syscall.ENOSPC),
			FailPermanent: inject(syscall.EROFS),
		}
	})
}

// syncedFile is a file handle that knows the size its last good fsync
// covered and fails writes and fsyncs with fault when set.
type syncedFile struct {
	filewriter.FileHandle
	path string

	mu     sync.Mutex
	size   int64 // bytes written
	synced int64 // bytes the last good Sync covered
	fault  syscall.Errno
}

func (f *syncedFile) setFault(errno syscall.Errno) {
	f.mu.Lock()
	f.fault = errno
	f.mu.Unlock()
}

func (f *syncedFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	if fault != 0 {
		return 0, &os.PathError{Op: "write", Path: f.path, Err: fault}
	}
	n, err := f.FileHandle.Write(p)
	f.mu.Lock()
	f.size += int64(n)
	f.mu.Unlock()
	return n, err
}

// Sync covers what was written before it started.
func (f *syncedFile) Sync() error {
	f.mu.Lock()
	size, fault := f.size, f.fault
	f.mu.Unlock()
	if fault != 0 {
		return &os.PathError{Op: "sync", Path: f.path, Err: fault}
	}
	if err := f.FileHandle.Sync(); err != nil {
		return err
	}
	f.mu.Lock()
	f.synced = max(f.synced, size)
	f.mu.Unlock()
	return nil
}

func (f *syncedFile) Truncate(size int64) error {
	if err := f.FileHandle.Truncate(size); err != nil {
		return err
	}
	f.mu.Lock()
	f.size = size
	f.synced = min(f.synced, size)
	f.mu.Unlock()
	return nil
}

// readSynced returns the values of the complete lines the last good
// fsync covered.
func (f *syncedFile) readSynced(t testing.TB) [][]byte {
	f.mu.Lock()
	synced := f.synced
	f.mu.Unlock()
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	b = b[:min(int64(len(b)), synced)]
	var vals [][]byte
	for line := range bytes.Lines(b) {
		if line[len(line)-1] == '\n' {
			vals = append(vals, filewriter.DecodeLine(bytes.Clone(line[:len(line)-1])))
		}
	}
	return vals
}
