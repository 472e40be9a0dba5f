package filewriter

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// Config configures the file writer. Zero fields take their defaults
// (Client.Defaults): framing "lines", encoding "utf-8" in text mode, flush
// interval 100ms, file mode 0600.
type Config struct {
	// Path may hold "{}", replaced by the worker id: one file per worker.
	Path string
	// Append (mode "a"/"ab") or truncate (mode "w"/"wb").
	Append bool
	// Binary (mode with "b"): values written as they are; text mode
	// requires valid UTF-8 when Encoding is utf-8.
	Binary   bool
	Encoding string
	// Framing is "lines" (one record per line; a value holding a newline
	// is escaped, see the file writer's doc) or "length" (4-byte big-endian
	// length then the value).
	Framing string
	// FlushInterval bounds how long a written record waits for fsync.
	FlushInterval time.Duration
	// FileMode is the permissions of a file the writer creates; 0 means
	// 0600 (the processor's user only). Existing files keep theirs.
	FileMode os.FileMode
	// FollowSymlinks lets the path be a symbolic link. By default the
	// writer refuses one (O_NOFOLLOW): a link would make it append to, or
	// truncate, a file other than the one named.
	FollowSymlinks bool
}

// settingsDoc is the settings' "config" object of the file writer, as
// its schema (schema.json) describes it.
type settingsDoc struct {
	File            string       `json:"file"`
	Mode            string       `json:"mode"`
	Encoding        *string      `json:"encoding"`
	Framing         string       `json:"framing"`
	FlushIntervalMS *json.Number `json:"flush_interval_ms"`
	FileMode        string       `json:"file_mode"`
	FollowSymlinks  bool         `json:"follow_symlinks"`
}

// decode sets cfg (a *Config) from the settings' "config" object raw:
// mode (a Python open() mode, "a" when absent) gives Append and Binary,
// file_mode is octal. It writes only what the settings say; Defaults
// fills the rest.
func decode(raw json.RawMessage, cfg any, d runtime.Diagnostics) {
	c := cfg.(*Config)
	var doc settingsDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		d.Errorf("", "%v", err)
		return
	}
	mode := doc.Mode
	if mode == "" {
		mode = "a"
	}
	c.Path = doc.File
	c.Append = strings.HasPrefix(mode, "a")
	c.Binary = strings.HasSuffix(mode, "b")
	c.Framing = doc.Framing
	c.FollowSymlinks = doc.FollowSymlinks
	if n := doc.FlushIntervalMS; n != nil {
		ms, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || ms != float64(int64(ms)) || ms < 1 || ms > 2147483647 {
			d.Errorf("/flush_interval_ms", "got %s; expected milliseconds: an integer from 1 to 2147483647", n)
		} else {
			c.FlushInterval = time.Duration(ms) * time.Millisecond
		}
	}
	if doc.FileMode != "" { // the schema's pattern: three octal digits
		perm, err := strconv.ParseUint(doc.FileMode, 8, 32)
		if err != nil {
			d.Errorf("/file_mode", "got %q; expected octal permissions such as \"0600\"", doc.FileMode)
		}
		c.FileMode = os.FileMode(perm)
		if perm&0o002 != 0 {
			d.Warnf("/file_mode", "file_mode %s lets every user of the machine change the records", doc.FileMode)
		}
	}
	switch {
	case c.Binary && doc.Encoding != nil:
		d.Errorf("/encoding", "got %q; binary mode %q takes no encoding: expected null", *doc.Encoding, mode)
	case doc.Encoding != nil:
		c.Encoding = "utf-8" // the schema allows "utf-8" and "utf8"
	}
}
