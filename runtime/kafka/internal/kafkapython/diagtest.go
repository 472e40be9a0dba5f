package kafkapython

import (
	"fmt"
	"strings"
)

// Recorder is a runtime.Diagnostics that keeps what it is told, one
// "E ptr: message", "W ptr: message" or "N ptr: option: why" line each,
// for the clients' Decode tests.
type Recorder struct {
	ID    string
	Lines []string
}

func (r *Recorder) Errorf(ptr, format string, args ...any) {
	r.Lines = append(r.Lines, "E "+ptr+": "+fmt.Sprintf(format, args...))
}

func (r *Recorder) Warnf(ptr, format string, args ...any) {
	r.Lines = append(r.Lines, "W "+ptr+": "+fmt.Sprintf(format, args...))
}

func (r *Recorder) NoEffect(ptr, option, why string) {
	r.Lines = append(r.Lines, "N "+ptr+": "+option+": "+why)
}

func (r *Recorder) ClientID() string { return r.ID }

// Has reports whether a line starts with prefix.
func (r *Recorder) Has(prefix string) bool {
	for _, l := range r.Lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
