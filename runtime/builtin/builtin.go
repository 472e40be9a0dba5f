// Package builtin registers kgen's built-in clients with the runtime.
// Import it for its side effect (settings and generated projects do):
//
//	import _ "github.com/kgen-dev/kgen/runtime/builtin"
//
// One line per client: a new built-in client is its package plus its line
// here.
package builtin

import (
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/runtime/kafka/producer"
)

func init() {
	runtime.Register(consumer.Client)
	runtime.Register(producer.Client)
}
