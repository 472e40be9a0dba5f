package generator

import (
	"go/token"
	"strconv"
	"strings"
	"unicode"
)

// initialisms are written in upper case in Go names (Go's own habit).
var initialisms = map[string]bool{
	"api": true, "db": true, "dns": true, "html": true, "http": true, "https": true,
	"id": true, "ip": true, "json": true, "sql": true, "tcp": true, "tls": true,
	"ttl": true, "udp": true, "uri": true, "url": true, "utf8": true, "uuid": true,
	"xml": true,
}

// goName turns an id such as "kafka_out" or "user-id" into an exported Go
// name ("KafkaOut", "UserID"). A name that would not start with a letter
// gets prefix.
func goName(s, prefix string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if initialisms[strings.ToLower(part)] {
			b.WriteString(strings.ToUpper(part))
			continue
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	n := b.String()
	if n == "" || !unicode.IsLetter([]rune(n)[0]) || !token.IsExported(n) {
		n = prefix + n
	}
	if !token.IsIdentifier(n) {
		// Letters outside Go's identifier set; keep only what is allowed.
		var c strings.Builder
		for _, r := range n {
			if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
				c.WriteRune(r)
			}
		}
		n = c.String()
	}
	return n
}

// namer hands out unique names.
type namer map[string]bool

// take returns name, or name with the smallest numeric suffix from 2 on
// that is still free, and marks it used.
func (n namer) take(name string) string {
	cand := name
	for i := 2; n[cand]; i++ {
		cand = name + strconv.Itoa(i)
	}
	n[cand] = true
	return cand
}
