// Package kgen holds what the kgen generator knows about itself at run
// time: its version, and its own go.mod and go.sum, from which a generated
// project copies its requirements and checksums so that it builds offline
// with the versions kgen was built and tested with.
package kgen

import (
	_ "embed"
	"runtime/debug"
	"strings"
)

// Module is kgen's module path.
const Module = "github.com/kgen-dev/kgen"

// GoMod is kgen's own go.mod.
//
//go:embed go.mod
var GoMod []byte

// GoSum is kgen's own go.sum.
//
//go:embed go.sum
var GoSum []byte

// version is set at link time (-ldflags "-X github.com/kgen-dev/kgen.version=v1.2.3").
var version = ""

// Version returns kgen's version: the one set at link time, else the
// module version the binary was built from (go install ...@v1.2.3, or kgen
// as a dependency of a project), else "dev" for a build from a source
// checkout.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == Module && IsRelease(bi.Main.Version) {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == Module && d.Replace == nil && IsRelease(d.Version) {
				return d.Version
			}
		}
	}
	return "dev"
}

// IsRelease reports whether v is a published module version (not a
// development build or a pseudo-version of an unpublished one).
func IsRelease(v string) bool {
	return strings.HasPrefix(v, "v") && v != "(devel)" && !strings.HasPrefix(v, "v0.0.0-")
}
