package runtime

import "runtime/debug"

// Version is the kgen version this runtime belongs to: set at link time
// (-X github.com/kgen-dev/kgen/runtime.Version=v1.2.3), else the version of
// the kgen module the binary was built with (a processor requiring a
// published kgen), else "dev" (a build from a source checkout).
var Version = "dev"

func init() {
	if Version == "dev" {
		Version = moduleVersion(debug.ReadBuildInfo())
	}
}

// moduleVersion returns the version of kgen's module in a build's
// information, "dev" when it is the main module's checkout or replaced.
func moduleVersion(bi *debug.BuildInfo, ok bool) string {
	const module = "github.com/kgen-dev/kgen"
	if !ok {
		return "dev"
	}
	if bi.Main.Path == module && isRelease(bi.Main.Version) {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module && d.Replace == nil && isRelease(d.Version) {
			return d.Version
		}
	}
	return "dev"
}

// isRelease is kgen.IsRelease: a published version, not "(devel)" or the
// pseudo-version of an unpublished commit.
func isRelease(v string) bool {
	return len(v) > 1 && v[0] == 'v' && v != "(devel)" && !(len(v) > 7 && v[:7] == "v0.0.0-")
}
