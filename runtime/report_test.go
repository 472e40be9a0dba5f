package runtime

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestFinalReport: the last line says what happened in words; "stopped
// cleanly" only when nothing was abandoned and the run did not fail.
func TestFinalReport(t *testing.T) {
	tests := []struct {
		name   string
		st     Stats
		failed bool
		want   string
		level  string
	}{
		{"clean", Stats{Processed: 24, DeadLettered: 1, Skipped: 2, Acked: 30}, false,
			"stopped cleanly: 27 records finished (24 processed, 1 dead-lettered, 2 skipped), 30 outputs acknowledged, none abandoned", "INFO"},
		{"abandoned", Stats{Processed: 168, Abandoned: 24, Acked: 168, Sent: 192}, false,
			"stopped with 24 records abandoned, still unfinished (outputs unacknowledged or retries pending) when the drain ended or drain_timeout 5s ran out: they were not committed and will be consumed again from the last commit; 168 records finished (168 processed, 0 dead-lettered, 0 skipped), 168 outputs acknowledged", "WARN"},
		{"abandoned, finished behind", Stats{Processed: 3311, Abandoned: 17, Uncommitted: 105, Acked: 3324, Sent: 3328}, false,
			"stopped with 17 records abandoned, still unfinished (outputs unacknowledged or retries pending) when the drain ended or drain_timeout 5s ran out: they were not committed and will be consumed again from the last commit, as will 105 finished records after them in their partitions; 3311 records finished (3311 processed, 0 dead-lettered, 0 skipped), 3324 outputs acknowledged", "WARN"},
		{"failed", Stats{Processed: 3, Abandoned: 1}, true,
			"stopped with 1 record abandoned, unfinished when the failure policy stopped the processor: they were not committed and will be consumed again from the last commit; 3 records finished (3 processed, 0 dead-lettered, 0 skipped), 0 outputs acknowledged", "WARN"},
		{"failed, none abandoned", Stats{Processed: 3}, true,
			"stopped on an error: 3 records finished (3 processed, 0 dead-lettered, 0 skipped), 0 outputs acknowledged, none abandoned", "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			finalReport(log, tt.st, tt.failed, 5*time.Second)
			out := buf.String()
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("want one line, got %q", out)
			}
			if !strings.Contains(out, "level="+tt.level+" ") || !strings.Contains(out, `msg="`+tt.want+`"`) {
				t.Errorf("got  %s\nwant level=%s msg=%q", out, tt.level, tt.want)
			}
			if strings.Contains(out, "{") {
				t.Errorf("a struct dump in %s", out)
			}
		})
	}
}
