// Package builtin registers kgen's built-in clients with the runtime.
// Importing it (settings does, so kgen and every generated project do)
// makes their names known to runtime.Run:
//
//	import _ "github.com/kgen-dev/kgen/runtime/builtin"
//
// One line per client: a new built-in client is its package plus its line
// here.
package builtin

import (
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filereader"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
	"github.com/kgen-dev/kgen/runtime/stdout"
)

// clients are the built-in clients, one line each, inbound first: the
// order in which the settings schema and its messages name them.
var clients = []runtime.Client{
	consumer.Client,
	filereader.Client,
	producer.Client,
	filewriter.Client,
	stdout.Client,
}

func init() {
	for _, c := range clients {
		runtime.Register(c)
	}
}

// Clients returns the built-in clients, inbound first, in the order the
// settings schema names them.
func Clients() []runtime.Client {
	return append([]runtime.Client(nil), clients...)
}
