// Package builtin registers kgen's built-in clients with the runtime.
// Importing it (settings does, so kgen and every generated project do)
// makes their names known to runtime.Run.
package builtin

import (
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/filereader"
	"github.com/kgen-dev/kgen/runtime/filewriter"
	"github.com/kgen-dev/kgen/runtime/stdout"
)

// clients are the built-in clients, one line each, inbound first: the
// order in which the settings schema and its messages name them.
var clients = []runtime.Client{
	registered(runtime.KafkaConsumer),
	filereader.Client,
	registered(runtime.KafkaProducer),
	filewriter.Client,
	stdout.Client,
}

func init() {
	for _, c := range clients {
		if c.Name == runtime.KafkaConsumer || c.Name == runtime.KafkaProducer {
			continue // registered by package runtime until they move to packages of their own
		}
		runtime.Register(c)
	}
}

// registered is the client name registered by package runtime itself.
func registered(name string) runtime.Client {
	c, _ := runtime.Lookup(name)
	return c
}

// Clients returns the built-in clients, inbound first, in the order the
// settings schema names them.
func Clients() []runtime.Client {
	return append([]runtime.Client(nil), clients...)
}
