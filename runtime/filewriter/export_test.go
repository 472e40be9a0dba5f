package filewriter

import "log/slog"

// Fault-injection seams of the file writer, for its conformance test
// (conformance_test.go, package filewriter_test, which can import
// runtime/clienttest).

// FileHandle is what the file writer writes through (an *os.File).
type FileHandle = fileHandle

// NewSinkOpen is NewSink opening its files with open.
func NewSinkOpen(cfg Config, workers int, log *slog.Logger,
	open func(path string, truncate bool) (FileHandle, int64, error)) (*Sink, error) {
	return newSink(cfg, workers, log, open)
}

// OpenFileForTest is the file writer's own open, for open funcs that wrap it.
func OpenFileForTest(path string, truncate bool, cfg Config) (FileHandle, int64, error) {
	mode := cfg.FileMode.Perm()
	if cfg.FileMode == 0 {
		mode = defaultFileMode
	}
	return openFile(path, truncate, mode, cfg.FollowSymlinks)
}
