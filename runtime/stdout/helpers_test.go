package stdout

import (
	"testing"

	"github.com/kgen-dev/kgen/runtime/internal/sinktest"
)

// The acknowledgement log of runtime/internal/sinktest, under the name the
// tests use.
type ackLog = sinktest.AckLog

func newAckLog(t testing.TB, want int) *ackLog { return sinktest.NewAckLog(t, want) }

// sinkTestValues are values that stress the "lines" framing.
var sinkTestValues = sinktest.Values

func readLines(t *testing.T, data []byte) [][]byte { return sinktest.ReadLines(t, data) }
