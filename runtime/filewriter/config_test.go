package filewriter

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// diags records what decode reports.
type diags struct{ errs, warns []string }

func (d *diags) Errorf(ptr, format string, args ...any) {
	d.errs = append(d.errs, ptr+": "+fmt.Sprintf(format, args...))
}

func (d *diags) Warnf(ptr, format string, args ...any) {
	d.warns = append(d.warns, ptr+": "+fmt.Sprintf(format, args...))
}

// TestDecode: the settings' "config" object maps onto Config with only
// what it says (Defaults adds the rest); problems are reported at their
// pointer.
func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		want      Config
		wantErr   string
		wantWarn  string
		effective func(Config) bool
	}{
		{name: "mode absent appends in text", raw: `{"file": "/tmp/x"}`,
			want: Config{Path: "/tmp/x", Append: true},
			effective: func(c Config) bool {
				return c.Framing == "lines" && c.Encoding == "utf-8" && c.FlushInterval == 100*time.Millisecond && c.FileMode == 0o600
			}},
		{name: "w truncates", raw: `{"file": "x", "mode": "w"}`, want: Config{Path: "x"}},
		{name: "ab is binary append, null encoding", raw: `{"file": "x", "mode": "ab", "encoding": null}`,
			want:      Config{Path: "x", Append: true, Binary: true},
			effective: func(c Config) bool { return c.Encoding == "" }},
		{name: "wb", raw: `{"file": "x", "mode": "wb"}`, want: Config{Path: "x", Binary: true}},
		{name: "every field", raw: `{"file": "x", "mode": "a", "encoding": "utf8", "framing": "length", "flush_interval_ms": 250, "file_mode": "0640", "follow_symlinks": true}`,
			want: Config{Path: "x", Append: true, Encoding: "utf-8", Framing: "length", FlushInterval: 250 * time.Millisecond, FileMode: 0o640, FollowSymlinks: true}},
		{name: "binary takes no encoding", raw: `{"file": "x", "mode": "wb", "encoding": "utf-8"}`,
			wantErr: `/encoding: got "utf-8"; binary mode "wb" takes no encoding: expected null`},
		{name: "world-writable file_mode warned", raw: `{"file": "x", "file_mode": "666"}`,
			want: Config{Path: "x", Append: true, FileMode: 0o666}, wantWarn: "/file_mode: file_mode 666 lets every user"},
		{name: "flush interval not an integer", raw: `{"file": "x", "flush_interval_ms": 1.5}`, wantErr: "/flush_interval_ms: got 1.5"},
		{name: "unknown field", raw: `{"file": "x", "colour": 1}`, wantErr: `unknown field "colour"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			var d diags
			decode(json.RawMessage(tt.raw), &c, &d)
			if tt.wantErr != "" {
				if len(d.errs) != 1 || !strings.Contains(d.errs[0], tt.wantErr) {
					t.Fatalf("errors %q, want one containing %q", d.errs, tt.wantErr)
				}
				return
			}
			if len(d.errs) > 0 {
				t.Fatalf("errors %q", d.errs)
			}
			if c != tt.want {
				t.Errorf("config %+v, want %+v", c, tt.want)
			}
			if tt.wantWarn != "" && (len(d.warns) != 1 || !strings.Contains(d.warns[0], tt.wantWarn)) {
				t.Errorf("warnings %q, want one containing %q", d.warns, tt.wantWarn)
			}
			if tt.wantWarn == "" && len(d.warns) > 0 {
				t.Errorf("warnings %q", d.warns)
			}
			if tt.effective != nil {
				if eff := *Client.Defaults(&c).(*Config); !tt.effective(eff) {
					t.Errorf("with defaults %+v", eff)
				}
			}
		})
	}
}
