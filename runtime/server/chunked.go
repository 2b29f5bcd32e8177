package server

import (
	"bytes"
	"errors"
)

// HTTP/1.1 message framing for the loop engine, which must know that a
// whole message is in its buffer before it hands it to fasthttp's parsers
// (they read from a bufio.Reader and would block on a partial one).

var (
	errChunked   = errors.New("malformed chunked encoding")
	errTooLarge  = errors.New("the body is larger than the limit")
	crlfcrlf     = []byte("\r\n\r\n")
	maxChunkLine = 4096 // a chunk-size line with its extensions
)

// decodeChunked decodes the chunked body at the start of src, appending its
// data to dst. done is false while src holds only part of it; n is then
// meaningless. When done, n is the length of the encoding (trailers
// included, which are dropped, as fasthttp's server drops them). limit
// bounds the decoded length (errTooLarge past it).
func decodeChunked(dst, src []byte, limit int) (out []byte, n int, done bool, err error) {
	i := 0
	for {
		line, next, more, err := crlfLine(src, i)
		if more || err != nil {
			return dst, 0, false, err
		}
		size, ok := chunkSize(line)
		if !ok {
			return dst, 0, false, errChunked
		}
		i = next
		if size == 0 {
			// Trailer fields, then the empty line.
			for {
				field, next, more, err := crlfLine(src, i)
				if more || err != nil {
					return dst, 0, false, err
				}
				i = next
				if len(field) == 0 {
					return dst, i, true, nil
				}
			}
		}
		if len(dst)+size > limit {
			return dst, 0, false, errTooLarge
		}
		if len(src)-i < size+2 {
			return dst, 0, false, nil
		}
		dst = append(dst, src[i:i+size]...)
		i += size
		if src[i] != '\r' || src[i+1] != '\n' {
			return dst, 0, false, errChunked
		}
		i += 2
	}
}

// crlfLine returns the line starting at src[i], without its CRLF, and where
// the next one starts; more when it is not whole yet. A line ended by a
// bare LF, or longer than maxChunkLine, is errChunked.
func crlfLine(src []byte, i int) (line []byte, next int, more bool, err error) {
	eol := bytes.IndexByte(src[i:], '\n')
	switch {
	case eol < 0 && len(src)-i > maxChunkLine, eol > maxChunkLine:
		return nil, 0, false, errChunked
	case eol < 0:
		return nil, 0, true, nil
	case eol == 0 || src[i+eol-1] != '\r':
		return nil, 0, false, errChunked
	}
	return src[i : i+eol-1], i + eol + 1, false, nil
}

// bareLF reports whether head has an LF not preceded by CR.
func bareLF(head []byte) bool {
	for i := 0; ; {
		n := bytes.IndexByte(head[i:], '\n')
		if n < 0 {
			return false
		}
		if i+n == 0 || head[i+n-1] != '\r' {
			return true
		}
		i += n + 1
	}
}

// hasField reports whether a raw head (a start line, then field lines
// ended by CRLF) has a field named name, whatever its case.
func hasField(head []byte, name string) bool {
	for i := bytes.IndexByte(head, '\n'); i >= 0 && i+1 < len(head); {
		line := head[i+1:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], []byte(name)) {
			return true
		}
		i += 1 + len(line)
		if i >= len(head) || head[i] != '\n' {
			return false
		}
	}
	return false
}

// chunkSize parses a chunk-size line (hex, then optional extensions after
// ';'), refusing sizes past 1<<40.
func chunkSize(line []byte) (int, bool) {
	if j := bytes.IndexByte(line, ';'); j >= 0 {
		line = line[:j]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}
