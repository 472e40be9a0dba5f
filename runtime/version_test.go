package runtime

import (
	"runtime/debug"
	"testing"
)

func TestModuleVersion(t *testing.T) {
	const mod = "github.com/kgen-dev/kgen"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "dev"},
		{"processor requiring a release", &debug.BuildInfo{Main: debug.Module{Path: "example.com/p"},
			Deps: []*debug.Module{{Path: mod, Version: "v1.4.0"}}}, true, "v1.4.0"},
		{"processor with a replace to a checkout", &debug.BuildInfo{Main: debug.Module{Path: "example.com/p"},
			Deps: []*debug.Module{{Path: mod, Version: "v1.4.0", Replace: &debug.Module{Path: "/src/kgen"}}}}, true, "dev"},
		{"pseudo-version", &debug.BuildInfo{Main: debug.Module{Path: "example.com/p"},
			Deps: []*debug.Module{{Path: mod, Version: "v0.0.0-20260101000000-abcdef123456"}}}, true, "dev"},
		{"kgen itself, installed at a version", &debug.BuildInfo{Main: debug.Module{Path: mod, Version: "v2.0.1"}}, true, "v2.0.1"},
		{"kgen itself, from a checkout", &debug.BuildInfo{Main: debug.Module{Path: mod, Version: "(devel)"}}, true, "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := moduleVersion(tt.bi, tt.ok); got != tt.want {
				t.Fatalf("moduleVersion = %q, want %q", got, tt.want)
			}
		})
	}
}
