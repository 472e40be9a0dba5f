package generator

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// CheckModulePath reports whether p can be a generated project's module
// path. It applies the rules of golang.org/x/mod/module.CheckImportPath
// (kgen does not depend on x/mod): slash-separated elements of ASCII
// letters, digits and - . _ ~, none empty, none starting or ending with a
// dot, none a Windows reserved name; and the first element may not start
// with a dash. The path lands in go.mod, the Makefile and import lines, so
// anything else (spaces, quotes, "$(shell ...)") is refused.
func CheckModulePath(p string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("module path %q: %s; expected a Go module path such as example.com/team/processor", p, fmt.Sprintf(format, args...))
	}
	switch {
	case p == "":
		return fmt.Errorf("module path is empty; expected a Go module path such as example.com/team/processor")
	case !utf8.ValidString(p):
		return bad("invalid UTF-8")
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return bad("leading or trailing slash")
	case strings.HasPrefix(p, "-"):
		return bad("leading dash")
	case len(p) > 512:
		return bad("longer than 512 bytes")
	}
	for _, elem := range strings.Split(p, "/") {
		switch {
		case elem == "":
			return bad("empty path element (double slash)")
		case elem[0] == '.' || elem[len(elem)-1] == '.':
			return bad("element %q starts or ends with a dot", elem)
		}
		for _, r := range elem {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return bad("invalid character %q in element %q (letters, digits and - . _ ~ only)", r, elem)
			}
		}
		short, _, _ := strings.Cut(elem, ".")
		for _, w := range windowsReserved {
			if strings.EqualFold(short, w) {
				return bad("element %q is a reserved file name on Windows", elem)
			}
		}
	}
	return nil
}

var windowsReserved = []string{
	"CON", "PRN", "AUX", "NUL",
	"COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
	"LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
}
