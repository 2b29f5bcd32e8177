// Package h1 is HTTP/1.1 framing as gwc reads and writes it, on both sides
// of the gateway: where a head ends, how it is parsed, and the chunked
// coding. Every engine delimits client requests with it, and every upstream
// client delimits answers with it, so that one grammar decides where each
// message ends.
//
// One grammar delimits and parses. A head ends at its first empty line, and
// each of its lines ends with CRLF: a bare LF is refused anywhere in a head.
// RFC 9112 §2.2 lets a recipient take a bare LF as a line's end; gwc does
// not, so that no two readers of a stream (an engine's search for the end
// of a head and its parser, or a proxy in front of gwc and gwc) can find
// different ends, which is how a request hides in another's body. fasthttp's
// header types parse a head once it is whole, and must end it exactly where
// the search did.
package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/valyala/fasthttp"
)

// Framing errors.
var (
	// ErrBareLF is a head with a line ended by LF alone.
	ErrBareLF = errors.New("a line of the head ends in a bare LF (CRLF is required)")
	// ErrHeadTooLarge is a head longer than its limit.
	ErrHeadTooLarge = errors.New("the head is larger than the limit")
	// ErrHead is a head the parser refused, or ended elsewhere than at its
	// empty line.
	ErrHead = errors.New("the head could not be parsed")
	// ErrChunked is a malformed chunked body.
	ErrChunked = errors.New("malformed chunked encoding")
	// ErrTooLarge is a body longer than its limit.
	ErrTooLarge = errors.New("the body is larger than the limit")
	// ErrCLAndTE is an answer with both Content-Length and
	// Transfer-Encoding: which framing its sender meant is in doubt (RFC
	// 9112 §6.3), and fasthttp would let Transfer-Encoding win.
	ErrCLAndTE = errors.New("the answer has both Content-Length and Transfer-Encoding")
)

var crlfcrlf = []byte("\r\n\r\n")

// maxChunkLine bounds a chunk-size line with its extensions, and a trailer
// field line.
const maxChunkLine = 4096

// MaxAnswerHead bounds an upstream answer's head, on every engine: four
// times nginx's proxy_buffer_size (4 or 8 KiB); past it the answer is a 502.
const MaxAnswerHead = 16 << 10

// maxTrailer bounds a trailer section, which is read and dropped.
const maxTrailer = 16 << 10

// HeadEnd returns the length of the head at the start of buf, through its
// empty line; 0 when it is not whole yet. A head longer than max bytes is
// ErrHeadTooLarge, and one with a bare LF ErrBareLF, as soon as buf shows
// it. Empty lines before a request line are the caller's to skip
// (SkipEmptyLines).
func HeadEnd(buf []byte, max int) (int, error) {
	end := bytes.Index(buf, crlfcrlf)
	head := buf
	if end >= 0 {
		head = buf[:end]
	}
	if bareLF(head[:min(len(head), max)]) {
		return 0, ErrBareLF
	}
	if (end < 0 && len(buf) > max) || end+4 > max {
		return 0, ErrHeadTooLarge
	}
	if end < 0 {
		return 0, nil
	}
	return end + 4, nil
}

// SkipEmptyLines returns how many bytes of CRLF pairs start buf: a server
// ignores empty lines before a request line (RFC 9112 §2.2).
func SkipEmptyLines(buf []byte) int {
	n := 0
	for n+1 < len(buf) && buf[n] == '\r' && buf[n+1] == '\n' {
		n += 2
	}
	return n
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

// Parser parses whole heads with fasthttp's header types, which read from a
// bufio.Reader; it holds that reader, to be reused. It is not safe for
// concurrent use.
type Parser struct {
	rd bytes.Reader
	br *bufio.Reader
}

// NewParser returns a parser for heads of up to max bytes.
func NewParser(max int) *Parser {
	p := &Parser{}
	// fasthttp's parser fails on a head its reader cannot hold whole.
	p.br = bufio.NewReaderSize(&p.rd, max+4096)
	return p
}

// Request parses the request head head (as HeadEnd delimited it) into h.
func (p *Parser) Request(head []byte, h *fasthttp.RequestHeader) error {
	p.rd.Reset(head)
	p.br.Reset(&p.rd)
	if err := h.Read(p.br); err != nil || p.br.Buffered() != 0 {
		// Or the parser ended the head before its empty line.
		return ErrHead
	}
	return nil
}

// Answer parses the answer head head (as HeadEnd delimited it) into h,
// refusing one with both Content-Length and Transfer-Encoding.
func (p *Parser) Answer(head []byte, h *fasthttp.ResponseHeader) error {
	p.rd.Reset(head)
	p.br.Reset(&p.rd)
	if err := h.Read(p.br); err != nil || p.br.Buffered() != 0 {
		return ErrHead
	}
	if h.ContentLength() == -1 && hasField(head, "Content-Length") {
		return ErrCLAndTE
	}
	return nil
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

// DecodeChunked decodes the chunked body at the start of src, appending its
// data to dst. done is false while src holds only part of it; n is then
// meaningless. When done, n is the length of the encoding, its trailer
// section included: trailer fields are dropped (a client's never reach an
// upstream, an upstream's never reach a client). limit bounds the decoded
// length (ErrTooLarge past it).
func DecodeChunked(dst, src []byte, limit int) (out []byte, n int, done bool, err error) {
	i := 0
	for {
		line, next, more, err := crlfLine(src, i)
		if more || err != nil {
			return dst, 0, false, err
		}
		size, ok := chunkSize(line)
		if !ok {
			return dst, 0, false, ErrChunked
		}
		i = next
		if size == 0 {
			// Trailer fields, then the empty line.
			trailer := i
			for {
				field, next, more, err := crlfLine(src, i)
				if more || err != nil {
					return dst, 0, false, err
				}
				if next-trailer > maxTrailer {
					return dst, 0, false, ErrChunked
				}
				i = next
				if len(field) == 0 {
					return dst, i, true, nil
				}
			}
		}
		if len(dst)+size > limit {
			return dst, 0, false, ErrTooLarge
		}
		if len(src)-i < size+2 {
			return dst, 0, false, nil
		}
		dst = append(dst, src[i:i+size]...)
		i += size
		if src[i] != '\r' || src[i+1] != '\n' {
			return dst, 0, false, ErrChunked
		}
		i += 2
	}
}

// crlfLine returns the line starting at src[i], without its CRLF, and where
// the next one starts; more when it is not whole yet. A line ended by a
// bare LF, or longer than maxChunkLine, is ErrChunked.
func crlfLine(src []byte, i int) (line []byte, next int, more bool, err error) {
	eol := bytes.IndexByte(src[i:], '\n')
	switch {
	case eol < 0 && len(src)-i > maxChunkLine, eol > maxChunkLine:
		return nil, 0, false, ErrChunked
	case eol < 0:
		return nil, 0, true, nil
	case eol == 0 || src[i+eol-1] != '\r':
		return nil, 0, false, ErrChunked
	}
	return src[i : i+eol-1], i + eol + 1, false, nil
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

// ChunkedReader decodes a chunked body as it is read from R, with the
// grammar of DecodeChunked: the trailer section is read and dropped. It
// reads from R no further than the body's end, so that what follows (a
// pipelined request, the next answer) stays in R. R must buffer at least
// maxChunkLine bytes.
type ChunkedReader struct {
	R *bufio.Reader
	// left is what remains of the current chunk's data; -1 before the
	// first chunk-size line and after each chunk's CRLF.
	left int
	done bool
	err  error
}

// NewChunkedReader returns a reader of the chunked body at the start of r.
func NewChunkedReader(r *bufio.Reader) *ChunkedReader { return &ChunkedReader{R: r, left: -1} }

// Read implements io.Reader: io.EOF after the trailer section's empty line,
// ErrChunked for a malformed body, io.ErrUnexpectedEOF for one cut short.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left <= 0 {
		if c.left == 0 {
			// The CRLF after a chunk's data.
			if err := c.crlf(); err != nil {
				return 0, c.fail(err)
			}
		}
		line, err := c.line()
		if err != nil {
			return 0, c.fail(err)
		}
		size, ok := chunkSize(line)
		if !ok {
			return 0, c.fail(ErrChunked)
		}
		if size == 0 {
			for n := 0; ; {
				field, err := c.line()
				if err != nil {
					return 0, c.fail(err)
				}
				if n += len(field) + 2; n > maxTrailer {
					return 0, c.fail(ErrChunked)
				}
				if len(field) == 0 {
					c.done = true
					return 0, c.fail(io.EOF)
				}
			}
		}
		c.left = size
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.R.Read(p)
	c.left -= n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, c.fail(err)
	}
	return n, nil
}

// Done reports whether the whole body, its trailer section included, was
// read.
func (c *ChunkedReader) Done() bool { return c.done }

func (c *ChunkedReader) fail(err error) error {
	c.err = err
	return err
}

// line reads a CRLF-ended line, without its CRLF.
func (c *ChunkedReader) line() ([]byte, error) {
	line, err := c.R.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, ErrChunked
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	case len(line) > maxChunkLine+2, len(line) < 2 || line[len(line)-2] != '\r':
		return nil, ErrChunked
	}
	return line[:len(line)-2], nil
}

func (c *ChunkedReader) crlf() error {
	b, err := c.R.Peek(2)
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if b[0] != '\r' || b[1] != '\n' {
		return ErrChunked
	}
	c.R.Discard(2) //nolint:errcheck // peeked
	return nil
}
