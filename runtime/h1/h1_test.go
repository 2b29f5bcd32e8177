package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestDecodeChunked(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		body     string
		n        int // 0: not done
		err      error
	}{
		{"one chunk", "3\r\nabc\r\n0\r\n\r\n", 100, "abc", 13, nil},
		{"two chunks, extension, trailer", "3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\nnext", 100, "abc0123456789", 38, nil},
		{"upper-case hex", "B\r\nhello world\r\n0\r\n\r\n", 100, "hello world", 21, nil},
		{"empty", "0\r\n\r\n", 100, "", 5, nil},
		{"size line not in", "3", 100, "", 0, nil},
		{"data not in", "3\r\nab", 100, "", 0, nil},
		{"last chunk without its empty line", "0\r\n", 100, "", 0, nil},
		{"trailer not ended", "0\r\nT: v\r\n", 100, "", 0, nil},
		{"not hex", "g\r\nabc\r\n0\r\n\r\n", 100, "", 0, ErrChunked},
		{"no size", "\r\nabc\r\n", 100, "", 0, ErrChunked},
		{"bare LF", "3\nabc\r\n0\r\n\r\n", 100, "", 0, ErrChunked},
		{"data not followed by CRLF", "3\r\nabcd\r\n0\r\n\r\n", 100, "", 0, ErrChunked},
		{"size too long", "10000000000\r\n", 100, "", 0, ErrChunked},
		{"over the limit", "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 8, "", 0, ErrTooLarge},
		{"endless size line", strings.Repeat("1", maxChunkLine+1), 100, "", 0, ErrChunked},
		{"a body longer than the trailer limit", "8000\r\n" + strings.Repeat("a", 0x8000) + "\r\n0\r\n\r\n", 1 << 20,
			strings.Repeat("a", 0x8000), 0x8000 + 13, nil},
		{"a trailer section past its limit", "0\r\n" + strings.Repeat("T: v\r\n", maxTrailer/6+1) + "\r\n", 100, "", 0, ErrChunked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, n, done, err := DecodeChunked(nil, []byte(tt.in), tt.limit)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if done != (tt.n > 0) || (done && (n != tt.n || string(body) != tt.body)) {
				t.Errorf("done %v, n %d, body %q; want n %d, body %q", done, n, body, tt.n, tt.body)
			}
		})
	}
}

// FuzzDecodeChunked checks decodeChunked against net/http's chunked reader:
// what it decodes whole, the reader decodes the same from the same bytes,
// and no input makes it panic.
func FuzzDecodeChunked(f *testing.F) {
	for _, s := range []string{"3\r\nabc\r\n0\r\n\r\n", "3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n", "0\r\n\r\n",
		"5\r\nhe", "ff\r\n", "1\r\na\r\n1\r\nb\r\n0\r\n\r\nGET / HTTP/1.1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		body, n, done, err := DecodeChunked(nil, in, 1<<20)
		if err != nil || !done {
			return
		}
		if n > len(in) {
			t.Fatalf("consumed %d of %d bytes", n, len(in))
		}
		want, rerr := io.ReadAll(httputil.NewChunkedReader(bufio.NewReader(bytes.NewReader(in[:n]))))
		if rerr != nil {
			// net/http is stricter about some extensions and trailers; what
			// it refuses, gwc need not accept the same way.
			return
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("decoded %q, net/http %q", body, want)
		}
	})
}

func TestHasField(t *testing.T) {
	for _, tt := range []struct {
		head string
		want bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ncontent-length: 3", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", false},
		{"HTTP/1.1 200 OK\r\nX-Content-Length: 3\r\nContent-Lengths: 1", false},
		{"HTTP/1.1 200 OK\r\nContent-Length : 3", false},
		{"HTTP/1.1 200 OK", false},
		{"", false},
		{"HTTP/1.1 200 OK\r\n", false},
	} {
		if got := hasField([]byte(tt.head), "Content-Length"); got != tt.want {
			t.Errorf("hasField(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func TestBareLF(t *testing.T) {
	for _, tt := range []struct {
		head string
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: h", false},
		{"GET / HTTP/1.1\nHost: h", true},
		{"\nGET / HTTP/1.1", true},
		{"GET / HTTP/1.1\r\nHost: h\r\n\n", true},
		{"GET / HTTP/1.1\r\r\nHost: h", false},
		{"", false},
	} {
		if got := bareLF([]byte(tt.head)); got != tt.want {
			t.Errorf("bareLF(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

// FuzzChunkedReader holds the streaming ChunkedReader to DecodeChunked: on
// the same bytes, what one decodes whole the other reads whole, what one
// refuses the other does not read to its end, and the reader stops exactly
// where the encoding ends.
func FuzzChunkedReader(f *testing.F) {
	for _, s := range []string{"3\r\nabc\r\n0\r\n\r\n", "3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\nnext", "0\r\n\r\n",
		"5\r\nhe", "ff\r\n", "1\r\na\r\n1\r\nb\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "3\nabc\r\n0\r\n\r\n", "3\r\nabcd\r\n0\r\n\r\n",
		"0\r\nT: v\n\r\n", "0\r\n" + strings.Repeat("T: v\r\n", 3000) + "\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, n, done, werr := DecodeChunked(nil, in, 1<<30)
		br := bufio.NewReaderSize(bytes.NewReader(in), 4096+16)
		cr := NewChunkedReader(br)
		got, rerr := io.ReadAll(cr)
		switch {
		case werr == nil && done:
			if rerr != nil || !bytes.Equal(got, whole) {
				t.Fatalf("%q: DecodeChunked %q, the reader %q, %v", in, whole, got, rerr)
			}
			if rest := br.Buffered(); len(in)-n != rest {
				t.Fatalf("%q: the encoding is %d bytes; the reader left %d of %d", in, n, rest, len(in))
			}
		case werr != nil:
			if rerr == nil {
				t.Fatalf("%q: DecodeChunked refused it (%v), the reader read %q", in, werr, got)
			}
		default: // not whole: the reader meets the end of its input
			if !errors.Is(rerr, io.ErrUnexpectedEOF) && !errors.Is(rerr, ErrChunked) {
				t.Fatalf("%q: a cut body read as %q, %v", in, got, rerr)
			}
		}
	})
}

func TestHeadEnd(t *testing.T) {
	for _, tt := range []struct {
		in  string
		max int
		n   int
		err error
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\nbody", 100, 27, nil},
		{"GET / HTTP/1.1\r\nHost: h\r\n", 100, 0, nil},
		{"GET / HTTP/1.1\nHost: h\n\nPOST / HTTP/1.1\r\n\r\n", 100, 0, ErrBareLF},
		{"GET / HTTP/1.1\nHost", 100, 0, ErrBareLF},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\nline\nline", 100, 27, nil}, // a bare LF in a body is data
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 20, 0, ErrHeadTooLarge},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 100), 50, 0, ErrHeadTooLarge},
	} {
		n, err := HeadEnd([]byte(tt.in), tt.max)
		if n != tt.n || !errors.Is(err, tt.err) {
			t.Errorf("HeadEnd(%q, %d) = %d, %v; want %d, %v", tt.in, tt.max, n, err, tt.n, tt.err)
		}
	}
}

func TestParserEndsWhereTheSearchDid(t *testing.T) {
	p := NewParser(1 << 10)
	var h fasthttp.RequestHeader
	if err := p.Request([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"), &h); err != nil || string(h.RequestURI()) != "/a" {
		t.Fatalf("a good head: %v, %q", err, h.RequestURI())
	}
	var r fasthttp.ResponseHeader
	if err := p.Answer([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), &r); !errors.Is(err, ErrCLAndTE) {
		t.Errorf("CL and TE: %v", err)
	}
	if err := p.Answer([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"), &r); err != nil || r.ContentLength() != 3 {
		t.Errorf("a good answer head: %v, %d", err, r.ContentLength())
	}
}
