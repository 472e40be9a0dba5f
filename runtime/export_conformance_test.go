package runtime

import (
	"log/slog"

	"github.com/segmentio/kafka-go"
)

// Fault-injection seams of the clients, for their conformance tests
// (conformance_*_test.go, package runtime_test, which can import
// runtime/clienttest).

// FileHandle is what the file writer writes through (an *os.File).
type FileHandle = fileHandle

// NewFileSinkOpen is NewFileSink opening its files with open.
func NewFileSinkOpen(cfg FileWriterConfig, workers int, log *slog.Logger,
	open func(path string, truncate bool) (FileHandle, int64, error)) (*FileSink, error) {
	return newFileSink(cfg, workers, log, open)
}

// OpenFileForTest is the file writer's own open, for open funcs that wrap it.
func OpenFileForTest(path string, truncate bool, cfg FileWriterConfig) (FileHandle, int64, error) {
	mode := cfg.FileMode.Perm()
	if cfg.FileMode == 0 {
		mode = defaultFileMode
	}
	return openFile(path, truncate, mode, cfg.FollowSymlinks)
}

// NewKafkaSinkVia is NewKafkaSink with the producer's requests going
// through wrap(transport).
func NewKafkaSinkVia(cfg KafkaProducerConfig, log *slog.Logger,
	wrap func(kafka.RoundTripper) kafka.RoundTripper) (*KafkaSink, error) {
	return newKafkaSink(cfg, log, wrap)
}
