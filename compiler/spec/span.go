package spec

import (
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// The YAML parser gives where a node starts, not where it ends; the ends
// are found in the source text from there. A scalar's token is scanned
// (quotes, escapes, block scalar lines); a collection ends where its last
// descendant does, or at its closing bracket in flow style.

// mark is a place in a file: 1-based line and column (in characters), and
// its byte offset.
type mark struct {
	line, col int32
	off       int
}

func (m mark) before(o mark) bool { return m.line < o.line || m.line == o.line && m.col < o.col }

// locator turns lines and columns into byte offsets. Nodes are asked for
// in source order, so it goes on from the last place it found: a document
// on one long line (minified JSON) costs a pass, not a pass a node.
type locator struct {
	data       []byte
	lineStarts []int // byte offset of each line, built on first use
	cur        mark
}

// at is the mark of line:col (1-based). A place past the text ends at the
// end of the text.
func (l *locator) at(line, col int) mark {
	if l.lineStarts == nil {
		l.lineStarts = []int{0}
		for i, b := range l.data {
			if b == '\n' {
				l.lineStarts = append(l.lineStarts, i+1)
			}
		}
	}
	if line < 1 {
		line = 1
	}
	if line > len(l.lineStarts) {
		return l.end()
	}
	m := mark{line: int32(line), col: 1, off: l.lineStarts[line-1]}
	if l.cur.line == m.line && int(l.cur.col) <= col {
		m = l.cur
	}
	for int(m.col) < col && m.off < len(l.data) && l.data[m.off] != '\n' {
		_, size := utf8.DecodeRune(l.data[m.off:])
		m.off += size
		m.col++
	}
	l.cur = m
	return m
}

// end is the mark just past the last character of the text.
func (l *locator) end() mark {
	m := mark{line: int32(len(l.lineStarts)), col: 1, off: l.lineStarts[len(l.lineStarts)-1]}
	m.col += int32(utf8.RuneCount(l.data[m.off:]))
	m.off = len(l.data)
	return m
}

// next moves m over one character.
func (l *locator) next(m mark) mark {
	if m.off >= len(l.data) {
		return m
	}
	if l.data[m.off] == '\n' {
		return mark{line: m.line + 1, col: 1, off: m.off + 1}
	}
	_, size := utf8.DecodeRune(l.data[m.off:])
	return mark{line: m.line, col: m.col + 1, off: m.off + size}
}

func (l *locator) byteAt(m mark) byte {
	if m.off >= len(l.data) {
		return 0
	}
	return l.data[m.off]
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// skipProperties moves m past a node's anchor (&name) and tag (!tag), which
// the parser counts as the node's start.
func (l *locator) skipProperties(m mark) mark {
	for {
		b := l.byteAt(m)
		if b != '&' && b != '!' {
			return m
		}
		for m.off < len(l.data) && !isSpace(l.data[m.off]) {
			m = l.next(m)
		}
		for m.off < len(l.data) && isSpace(l.data[m.off]) {
			m = l.next(m)
		}
	}
}

// scalarEnd is the mark just past the token of scalar y.
func (l *locator) scalarEnd(y *yaml.Node) mark {
	start := l.at(y.Line, y.Column)
	m := l.skipProperties(start)
	switch {
	case y.Style&yaml.DoubleQuotedStyle != 0:
		return l.quotedEnd(m, '"')
	case y.Style&yaml.SingleQuotedStyle != 0:
		return l.quotedEnd(m, '\'')
	case y.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return l.blockEnd(m)
	}
	return l.plainEnd(m, y.Value)
}

// quotedEnd scans a quoted scalar from its opening quote.
func (l *locator) quotedEnd(m mark, q byte) mark {
	if l.byteAt(m) != q {
		return m
	}
	m = l.next(m)
	for m.off < len(l.data) {
		b := l.data[m.off]
		switch {
		case q == '"' && b == '\\':
			m = l.next(l.next(m))
		case b == q && q == '\'' && m.off+1 < len(l.data) && l.data[m.off+1] == '\'':
			m = l.next(l.next(m)) // '' is an escaped quote
		case b == q:
			return l.next(m)
		default:
			m = l.next(m)
		}
	}
	return m
}

// plainEnd matches a plain scalar's value against the text from m: the
// value is the text with line breaks folded, so the text's whitespace may
// stand for one space or a line break of the value.
func (l *locator) plainEnd(m mark, value string) mark {
	end := m
	for j := 0; j < len(value) && m.off < len(l.data); {
		b := l.data[m.off]
		switch {
		case b == value[j]:
			if b >= utf8.RuneSelf { // the rune's other bytes
				_, size := utf8.DecodeRune(l.data[m.off:])
				j += size - 1
			}
			j++
			m = l.next(m)
			if !isSpace(b) {
				end = m
			}
		case isSpace(b):
			m = l.next(m)
		case value[j] == ' ' || value[j] == '\n':
			j++
		default:
			return end
		}
	}
	return end
}

// blockEnd scans a literal or folded block scalar from its indicator (| or
// >): its header line, then every line indented at least as its first
// content line, or blank; it ends after the last non-blank one.
func (l *locator) blockEnd(m mark) mark {
	end := m
	// The header: the indicator and its modifiers, then maybe a comment.
	for m.off < len(l.data) && !isSpace(l.data[m.off]) {
		m = l.next(m)
		end = m
	}
	for m.off < len(l.data) && l.data[m.off] != '\n' {
		m = l.next(m)
	}
	indent := -1
	for m.off < len(l.data) {
		m = l.next(m) // the line break
		n := 0
		for m.off < len(l.data) && l.data[m.off] == ' ' {
			m = l.next(m)
			n++
		}
		// The line's last character that is not white space.
		last := mark{}
		for m.off < len(l.data) && l.data[m.off] != '\n' {
			b := l.data[m.off]
			m = l.next(m)
			if b != ' ' && b != '\t' && b != '\r' {
				last = m
			}
		}
		if last.line == 0 {
			continue // a blank line belongs to the scalar if more follows
		}
		if indent < 0 {
			indent = n
		}
		if n < indent || indent == 0 {
			return end
		}
		end = last
	}
	return end
}

// flowEnd is the mark just past the closing bracket of a flow collection
// whose content ends at m (or which opens at m when empty).
func (l *locator) flowEnd(m mark, closer byte) mark {
	for m.off < len(l.data) {
		b := l.data[m.off]
		switch {
		case b == closer:
			return l.next(m)
		case isSpace(b) || b == ',':
			m = l.next(m)
		case b == '#':
			for m.off < len(l.data) && l.data[m.off] != '\n' {
				m = l.next(m)
			}
		default:
			return m
		}
	}
	return m
}

// aliasEnd is the mark just past an alias token (*name).
func (l *locator) aliasEnd(y *yaml.Node) mark {
	m := l.at(y.Line, y.Column)
	if l.byteAt(m) != '*' {
		return m
	}
	m = l.next(m)
	for m.off < len(l.data) && !isSpace(l.data[m.off]) && l.data[m.off] != ',' && l.data[m.off] != ']' && l.data[m.off] != '}' {
		m = l.next(m)
	}
	return m
}
