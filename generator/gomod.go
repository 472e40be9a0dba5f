package generator

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// requirement is one module requirement.
type requirement struct {
	Path, Version string
}

// goModInfo is what a project's go.mod copies from kgen's.
type goModInfo struct {
	Module   string
	Go       string
	Requires []requirement
}

// parseGoMod reads the module, go and require directives of a go.mod file.
// It understands the layout "go mod" writes, which is all kgen's own
// go.mod ever is.
func parseGoMod(data []byte) (goModInfo, error) {
	var gm goModInfo
	inRequire := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case inRequire && f[0] == ")":
			inRequire = false
		case inRequire:
			if len(f) != 2 {
				return gm, fmt.Errorf("line %d: malformed requirement", n)
			}
			gm.Requires = append(gm.Requires, requirement{f[0], f[1]})
		case f[0] == "module" && len(f) == 2:
			gm.Module = strings.Trim(f[1], `"`)
		case f[0] == "go" && len(f) == 2:
			gm.Go = f[1]
		case f[0] == "require" && len(f) == 2 && f[1] == "(":
			inRequire = true
		case f[0] == "require" && len(f) == 3:
			gm.Requires = append(gm.Requires, requirement{f[1], f[2]})
		}
	}
	if err := sc.Err(); err != nil {
		return gm, err
	}
	if gm.Module == "" {
		return gm, fmt.Errorf("no module directive")
	}
	if gm.Go == "" {
		return gm, fmt.Errorf("no go directive")
	}
	return gm, nil
}

// ModulePath returns the module path declared in a go.mod file.
func ModulePath(gomod []byte) (string, error) {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`), nil
		}
	}
	return "", fmt.Errorf("no module directive")
}
