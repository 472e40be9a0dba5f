// Package frame holds the framings the file clients and stdout share: the
// "lines" framing (one value per line, '\\' and '\n' escaped) and the
// "length" framing (4-byte big-endian length, then the value).
package frame

import (
	"bufio"
	"bytes"
)

// BufferSize is the write buffer of each file (and of stdout); a full
// buffer is written out by the writer that fills it and wakes the flusher.
const BufferSize = 64 << 10

// WriteLine writes v with the "lines" framing and returns the bytes
// written to w. It scans v once for each of the two escaped bytes.
func WriteLine(w *bufio.Writer, v []byte) (int, error) {
	n, pos := 0, 0
	nl, bs := bytes.IndexByte(v, '\n'), bytes.IndexByte(v, '\\')
	for nl >= 0 || bs >= 0 {
		i, esc := nl, byte('n')
		if nl < 0 || (bs >= 0 && bs < nl) {
			i, esc = bs, '\\'
		}
		m, err := w.Write(v[pos:i])
		n += m
		if err != nil {
			return n, err
		}
		if err := w.WriteByte('\\'); err != nil {
			return n, err
		}
		if err := w.WriteByte(esc); err != nil {
			return n + 1, err
		}
		n += 2
		pos = i + 1
		if esc == 'n' {
			nl = indexByteFrom(v, pos, '\n')
		} else {
			bs = indexByteFrom(v, pos, '\\')
		}
	}
	m, err := w.Write(v[pos:])
	n += m
	if err != nil {
		return n, err
	}
	if err := w.WriteByte('\n'); err != nil {
		return n, err
	}
	return n + 1, nil
}

// indexByteFrom is bytes.IndexByte(v[from:], c) as an index into v.
func indexByteFrom(v []byte, from int, c byte) int {
	i := bytes.IndexByte(v[from:], c)
	if i < 0 {
		return -1
	}
	return from + i
}

// WriteLength writes v with the "length" framing.
func WriteLength(w *bufio.Writer, v []byte) (int, error) {
	l := uint32(len(v))
	for _, b := range [4]byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l)} {
		if err := w.WriteByte(b); err != nil {
			return 0, err
		}
	}
	m, err := w.Write(v)
	return 4 + m, err
}

// DecodeLine returns the value of one line written with the "lines"
// framing, given without its final '\n': `\n` becomes a newline and `\\` a
// backslash. Any other backslash is kept as it is, so decoding never
// fails. It returns line itself when it holds no backslash.
func DecodeLine(line []byte) []byte {
	i := bytes.IndexByte(line, '\\')
	if i < 0 {
		return line
	}
	out := make([]byte, i, len(line))
	copy(out, line[:i])
	for ; i < len(line); i++ {
		c := line[i]
		if c == '\\' && i+1 < len(line) {
			switch line[i+1] {
			case 'n':
				c = '\n'
				i++
			case '\\':
				i++
			}
		}
		out = append(out, c)
	}
	return out
}
