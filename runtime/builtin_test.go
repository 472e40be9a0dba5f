package runtime_test

// The built-in clients are registered for every test of this package
// (package runtime's own tests too, which run in the same binary and
// cannot import runtime/builtin themselves): tests that Run a file reader,
// a file writer or stdout by name find them.
import _ "github.com/kgen-dev/kgen/runtime/builtin"
