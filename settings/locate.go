package settings

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// A locator finds where the value (or member name) at a JSON pointer sits
// in the original bytes of a syntactically valid document.
type locator struct {
	lineStarts []int
	spans      map[string]span
	dups       []duplicate
}

// span holds byte offsets of a value and, for an object member, of its
// name (-1 otherwise).
type span struct{ key, val int }

// duplicate is an object member whose name appeared earlier in the object.
type duplicate struct {
	ptr string
	key int
}

// newLocator walks data's tokens once, recording the offset of every value.
// data must be valid JSON; on a token error the walk stops where it is.
func newLocator(data []byte) *locator {
	l := &locator{spans: map[string]span{}, lineStarts: []int{0}}
	for i, b := range data {
		if b == '\n' {
			l.lineStarts = append(l.lineStarts, i+1)
		}
	}
	type frame struct {
		ptr     string
		obj     bool
		n       int // next array index
		wantKey bool
		key     string
		keyOff  int
		keys    map[string]bool
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.obj {
			top.wantKey = true
		} else {
			top.n++
		}
	}
	for {
		off := skipSeparators(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return l
		}
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			valueDone()
			continue
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			k, _ := tok.(string)
			top.key, top.keyOff, top.wantKey = k, off, false
			if top.keys[k] {
				l.dups = append(l.dups, duplicate{ptr: top.ptr + "/" + configjson.EscapePointer(k), key: off})
			}
			top.keys[k] = true
			continue
		}
		ptr, keyOff := "", -1
		switch {
		case top == nil:
		case top.obj:
			ptr, keyOff = top.ptr+"/"+configjson.EscapePointer(top.key), top.keyOff
		default:
			ptr = top.ptr + "/" + strconv.Itoa(top.n)
		}
		if _, seen := l.spans[ptr]; !seen { // a duplicate name: the first one is located
			l.spans[ptr] = span{key: keyOff, val: off}
		}
		if isDelim {
			stack = append(stack, &frame{ptr: ptr, obj: d == '{', wantKey: d == '{', keys: map[string]bool{}})
			continue
		}
		valueDone()
	}
}

func skipSeparators(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
		default:
			return i
		}
	}
	return i
}

// position returns the 1-based line and column (in bytes) of the value at
// ptr, or of its member name when key is set; an absent pointer falls back
// to its nearest present ancestor.
func (l *locator) position(ptr string, key bool) (line, col int) {
	for {
		if s, ok := l.spans[ptr]; ok {
			off := s.val
			if key && s.key >= 0 {
				off = s.key
			}
			return l.lineCol(off)
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return 0, 0
		}
		ptr, key = ptr[:i], false
	}
}

// lineCol turns a byte offset into a 1-based line and column.
func (l *locator) lineCol(off int) (line, col int) {
	i := sort.Search(len(l.lineStarts), func(i int) bool { return l.lineStarts[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, off - l.lineStarts[i] + 1
}

// splitPointer returns the unescaped reference tokens of ptr.
func splitPointer(ptr string) []string {
	if ptr == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts
}

// lookup returns the value at ptr in a decoded JSON tree.
func lookup(v any, ptr string) (any, bool) {
	for _, tok := range splitPointer(ptr) {
		switch n := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = n[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			v = n[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// HasMember reports whether the JSON document data has a value at ptr (a
// JSON pointer such as /processing/on_failure), whatever its value.
func HasMember(data []byte, ptr string) bool {
	_, ok := newLocator(data).spans[ptr]
	return ok
}
