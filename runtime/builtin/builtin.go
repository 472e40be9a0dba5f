// Package builtin registers kgen's built-in clients with the runtime, one
// line each. Importing it (settings does, so kgen and every generated
// project do) makes their names known to runtime.Run.
package builtin

import (
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filereader"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/stdout"
)

func init() {
	runtime.Register(filereader.Client)
	runtime.Register(filewriter.Client)
	runtime.Register(stdout.Client)
	// The Kafka clients (kafka_consumer, kafka_producer) are still
	// registered by package runtime itself until they move to packages of
	// their own.
}
