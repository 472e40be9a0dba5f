package runtime

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestRoundHistogram checks the bucket bounds (upper bound inclusive, as
// Prometheus has them), the cumulative counts and the sum.
func TestRoundHistogram(t *testing.T) {
	h := newRoundHistogram(prometheus.NewDesc("h", "h", nil, nil), []float64{0.001, 0.01})
	h.observeN(time.Millisecond, 3)    // on the first bound
	h.observeN(2*time.Millisecond, 2)  // second bucket
	h.observeN(20*time.Millisecond, 1) // +Inf
	var m dto.Metric
	if err := h.metric().Write(&m); err != nil {
		t.Fatal(err)
	}
	hm := m.GetHistogram()
	if got := hm.GetSampleCount(); got != 6 {
		t.Errorf("count %d, want 6", got)
	}
	if got, want := hm.GetSampleSum(), 0.003+0.004+0.020; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("sum %v, want %v", got, want)
	}
	var cum []uint64
	for _, b := range hm.GetBucket() {
		cum = append(cum, b.GetCumulativeCount())
	}
	if len(cum) != 2 || cum[0] != 3 || cum[1] != 5 {
		t.Errorf("cumulative buckets %v, want [3 5]", cum)
	}
}
