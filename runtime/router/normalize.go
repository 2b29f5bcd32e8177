package router

import (
	"errors"
	"unicode/utf8"
)

// The reasons Normalize refuses a path. Each one is a 400 for the client;
// they are distinct so that logs and metrics can say which rule fired.
var (
	ErrNotAbsolute  = errors.New("path does not start with \"/\"")
	ErrEncodedSlash = errors.New("path contains an encoded \"/\" or \"\\\"")
	ErrBackslash    = errors.New("path contains \"\\\"")
	ErrControl      = errors.New("path contains a control character")
	ErrBadEscape    = errors.New("path contains an invalid percent-encoding")
	ErrBadUTF8      = errors.New("path is not valid UTF-8 once decoded")
	ErrDotSegment   = errors.New("path contains a \".\" or \"..\" segment")
	ErrQuery        = errors.New("path contains \"?\" or \"#\"")
)

// Normalize checks a request's raw (percent-encoded) path and returns its
// canonical form, the one the router matches and the upstream receives. It
// returns rawPath itself, without allocating, when rawPath is already
// canonical. The rules are in the package documentation.
func Normalize(rawPath string) (string, error) {
	if rawPath == "" || rawPath[0] != '/' {
		return "", ErrNotAbsolute
	}
	if plain(rawPath) {
		return rawPath, nil
	}
	c := canon{raw: rawPath}
	seg := 0 // output offset of the current segment
	for i := 0; i < len(rawPath); {
		if rawPath[i] == '/' {
			if c.u.pending() {
				return "", ErrBadUTF8
			}
			if err := c.endSegment(seg); err != nil {
				return "", err
			}
			if i > 0 && rawPath[i-1] == '/' {
				c.drop() // merge "//" into "/"
			} else {
				c.keep(i, 1)
			}
			seg = c.len()
			i++
			continue
		}
		n, err := c.step(i)
		if err != nil {
			return "", err
		}
		i += n
	}
	if err := c.endSegment(seg); err != nil {
		return "", err
	}
	if c.u.pending() {
		return "", ErrBadUTF8
	}
	return c.string(), nil
}

// The bytes plain accepts: RFC 3986's pchar without "%", and "/".
const (
	plainLo uint64 = 0x2fffffd200000000
	plainHi uint64 = 0x47fffffe87ffffff
)

// plain reports whether p is canonical at a glance: pchar bytes only, no
// escapes, no "//", no segment starting with "." (those go the long way).
func plain(p string) bool {
	seg := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c < 64 && plainLo&(1<<c) != 0:
			switch c {
			case '/':
				if i > 0 && p[i-1] == '/' {
					return false
				}
				seg = i + 1
			case '.':
				if i == seg {
					return false
				}
			}
		case c >= 64 && c < 128 && plainHi&(1<<(c-64)) != 0:
		default:
			return false
		}
	}
	return true
}

// canonicalPart canonicalises the literal text of a path template (no "/"),
// so that template literals and request paths compare in one form.
func canonicalPart(lit string) (string, error) {
	c := canon{raw: lit}
	for i := 0; i < len(lit); {
		if lit[i] == '/' {
			return "", ErrEncodedSlash
		}
		n, err := c.step(i)
		if err != nil {
			return "", err
		}
		i += n
	}
	if c.u.pending() {
		return "", ErrBadUTF8
	}
	return c.string(), nil
}

// canon builds a canonical path from raw, copying only once the output
// first differs from raw: until then the output is raw[:n].
type canon struct {
	raw string
	n   int
	b   []byte
	u   utf8Check
}

func (c *canon) len() int {
	if c.b == nil {
		return c.n
	}
	return len(c.b)
}

func (c *canon) at(i int) byte {
	if c.b == nil {
		return c.raw[i]
	}
	return c.b[i]
}

// keep outputs raw[i:i+n] unchanged.
func (c *canon) keep(i, n int) {
	if c.b == nil {
		c.n += n
		return
	}
	c.b = append(c.b, c.raw[i:i+n]...)
}

// drop starts the copy: the output no longer follows raw byte for byte.
func (c *canon) drop() {
	if c.b == nil {
		c.b = make([]byte, c.n, len(c.raw)+16)
		copy(c.b, c.raw[:c.n])
	}
}

func (c *canon) emit(bs ...byte) {
	c.drop()
	c.b = append(c.b, bs...)
}

func (c *canon) emitEscape(v byte) {
	const hex = "0123456789ABCDEF"
	c.emit('%', hex[v>>4], hex[v&15])
}

func (c *canon) string() string {
	if c.b == nil {
		return c.raw
	}
	return string(c.b)
}

// endSegment rejects the segment that started at output offset start when it
// is "." or "..", also with a ";parameters" suffix (Tomcat and others strip
// those, so "..;x" would climb a directory upstream).
func (c *canon) endSegment(start int) error {
	end := c.len()
	for k := start; k < end; k++ {
		if c.at(k) == ';' {
			end = k
			break
		}
	}
	switch end - start {
	case 1:
		if c.at(start) == '.' {
			return ErrDotSegment
		}
	case 2:
		if c.at(start) == '.' && c.at(start+1) == '.' {
			return ErrDotSegment
		}
	}
	return nil
}

// step handles the byte (or escape) at raw[i], which is not "/", and returns
// how many raw bytes it used.
func (c *canon) step(i int) (int, error) {
	b := c.raw[i]
	switch {
	case b == '%':
		if i+2 >= len(c.raw) {
			return 0, ErrBadEscape
		}
		hi, ok1 := unhex(c.raw[i+1])
		lo, ok2 := unhex(c.raw[i+2])
		if !ok1 || !ok2 {
			return 0, ErrBadEscape
		}
		v := hi<<4 | lo
		switch {
		case v == '/' || v == '\\':
			return 0, ErrEncodedSlash
		case v < 0x20 || v == 0x7f:
			return 0, ErrControl
		}
		if err := c.u.add(v); err != nil {
			return 0, err
		}
		switch {
		case isUnreserved(v):
			c.emit(v) // %41 is A: one spelling per path
		case isUpperHex(c.raw[i+1]) && isUpperHex(c.raw[i+2]):
			c.keep(i, 3)
		default:
			c.emitEscape(v) // %3a is %3A
		}
		return 3, nil
	case b < 0x20 || b == 0x7f:
		return 0, ErrControl
	case b == '\\':
		return 0, ErrBackslash
	case b == '?' || b == '#':
		return 0, ErrQuery
	case b >= 0x80:
		if err := c.u.add(b); err != nil {
			return 0, err
		}
		c.emitEscape(b)
		return 1, nil
	}
	if err := c.u.add(b); err != nil {
		return 0, err
	}
	if isPchar(b) {
		c.keep(i, 1)
	} else {
		c.emitEscape(b) // space, quotes, <>, [], ^, `, {}, |
	}
	return 1, nil
}

// utf8Check validates the decoded byte stream one byte at a time, so that
// raw and percent-encoded bytes are checked together (overlong forms such
// as %C0%AE and surrogates are refused).
type utf8Check struct {
	buf  [4]byte
	n    int
	need int
}

func (u *utf8Check) pending() bool { return u.n > 0 }

func (u *utf8Check) add(b byte) error {
	if u.n == 0 {
		switch {
		case b < 0x80:
			return nil
		case b >= 0xc2 && b <= 0xdf:
			u.need = 2
		case b >= 0xe0 && b <= 0xef:
			u.need = 3
		case b >= 0xf0 && b <= 0xf4:
			u.need = 4
		default:
			return ErrBadUTF8
		}
		u.buf[0] = b
		u.n = 1
		return nil
	}
	if b&0xc0 != 0x80 {
		return ErrBadUTF8
	}
	u.buf[u.n] = b
	u.n++
	if u.n < u.need {
		return nil
	}
	u.n = 0
	if !utf8.FullRune(u.buf[:u.need]) || !utf8.Valid(u.buf[:u.need]) {
		return ErrBadUTF8
	}
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

// isUnreserved is RFC 3986's unreserved set: ALPHA DIGIT - . _ ~
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPchar is RFC 3986's pchar without pct-encoded: unreserved, sub-delims,
// ":" and "@". These stay as they are; other bytes are percent-encoded.
func isPchar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}
