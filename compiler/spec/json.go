package spec

import (
	"errors"
	"unicode/utf8"
)

// ErrTooLarge is returned by AppendJSON when the output would pass its limit:
// YAML aliases can make a small file denote an enormous value.
var ErrTooLarge = errors.New("value is too large once YAML aliases are expanded")

// AppendJSON appends n as compact JSON to dst, members in source order. It
// writes references as the `{"$ref": ...}` objects they are. Output beyond
// limit bytes (0: no limit) fails with ErrTooLarge.
func (n *Node) AppendJSON(dst []byte, limit int) ([]byte, error) {
	w := jsonWriter{buf: dst, limit: limit}
	w.node(n, 0)
	return w.buf, w.err
}

type jsonWriter struct {
	buf   []byte
	limit int
	err   error
}

// maxDepth bounds nesting so that a hostile document cannot exhaust the stack.
const maxDepth = 10000

func (w *jsonWriter) node(n *Node, depth int) {
	if w.err != nil {
		return
	}
	if w.limit > 0 && len(w.buf) > w.limit {
		w.err = ErrTooLarge
		return
	}
	if depth > maxDepth {
		w.err = errors.New("value is nested too deeply")
		return
	}
	if n == nil {
		w.buf = append(w.buf, "null"...)
		return
	}
	switch n.Kind {
	case Null:
		w.buf = append(w.buf, "null"...)
	case Bool, Number:
		w.buf = append(w.buf, n.Value...)
	case String:
		w.buf = AppendQuote(w.buf, n.Value)
	case Array:
		w.buf = append(w.buf, '[')
		for i, e := range n.Elems {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.node(e, depth+1)
		}
		w.buf = append(w.buf, ']')
	case Object:
		w.buf = append(w.buf, '{')
		for i, p := range n.Pairs {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = AppendQuote(w.buf, p.Key.Value)
			w.buf = append(w.buf, ':')
			w.node(p.Value, depth+1)
		}
		w.buf = append(w.buf, '}')
	}
}

const hex = "0123456789abcdef"

// AppendQuote appends s as a JSON string, escaping as encoding/json does
// (including <, > and & and the line separators U+2028/U+2029), so that
// output is the same whichever of the two wrote it.
func AppendQuote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
