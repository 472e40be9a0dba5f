package filewriter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileSinkRefusesSymlink: a symbolic link at the path is refused unless
// FollowSymlinks, so that mode "w" cannot truncate the file it points at.
func TestFileSinkRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out.log")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	for _, path := range []string{link, filepath.Join(dir, "out{}.log")} {
		if strings.Contains(path, "{}") {
			if err := os.Symlink(target, filepath.Join(dir, "out0.log")); err != nil {
				t.Fatal(err)
			}
		}
		_, err := NewSink(Config{Path: path, Framing: "lines"}, 1, sinkTestLogger())
		if err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s: err = %v, want a symbolic link refused", path, err)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me\n" {
		t.Errorf("the link's target was changed: %q", b)
	}
	s, err := NewSink(Config{Path: link, Append: true, Framing: "lines", FollowSymlinks: true}, 1, sinkTestLogger())
	if err != nil {
		t.Fatalf("FollowSymlinks: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestFileSinkMode: created files get FileMode, 0600 by default, never the
// old 0644.
func TestFileSinkMode(t *testing.T) {
	for _, tt := range []struct {
		mode, want os.FileMode
	}{{0, 0o600}, {0o640, 0o640}, {0o600, 0o600}} {
		path := filepath.Join(t.TempDir(), "out.log")
		s, err := NewSink(Config{Path: path, Framing: "lines", FileMode: tt.mode}, 1, sinkTestLogger())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may take bits away, never add them.
		if got := fi.Mode().Perm(); got&^tt.want != 0 || got&0o600 != 0o600 {
			t.Errorf("FileMode %o: file created %o, want %o", tt.mode, got, tt.want)
		}
	}
}
