package proxy

import (
	"bytes"
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/header"
)

// tchar marks the bytes allowed in a header name (RFC 9110 §5.6.2 token).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// Framing problems CheckRequest reports; each is a 400 after which the
// connection is closed, since the client and gwc may disagree on where the
// next request starts.
const (
	BadHeaderName = "a header name is not an RFC 9110 token"
	CLAndTE       = "the request has both Content-Length and Transfer-Encoding"
	// BareLF: a line of the head ends in LF without CR. RFC 9112 §2.2 lets
	// a recipient take a bare LF as a line's end; gwc does not, so that no
	// engine (nor a proxy in front of gwc) can find the end of a head
	// where another does not (docs/security.md).
	BareLF = "a line of the request head ends in a bare LF (CRLF is required)"
)

// Check is what CheckRequest found in a request's header block.
type Check struct {
	// Problem is why the request must be refused (BadHeaderName, CLAndTE),
	// or "" when it is acceptable.
	Problem string
	// Hop marks the hop-by-hop headers the request has (bit i for
	// hopHeaders[i]), which StripRequestHop removes; most requests have
	// none, and then cost nothing more.
	Hop HopSet
	// Expect is set when the request has an Expect header.
	Expect bool
	// Authorizations counts the Authorization fields: more than one is
	// refused by the gateway (a singleton field, RFC 9110 §11.6.2, whose
	// second copy would otherwise reach the upstream unchecked).
	Authorizations int
}

// HopSet is a set of hopHeaders, by index.
type HopSet uint16

// CheckRequest refuses what fasthttp's parser lets through and a proxy must
// not forward (docs/runtime-engine.md): a header name that is not a token
// ("Bad Name: x" would reach the upstream, which may parse it otherwise),
// and a chunked request that also carries Content-Length (RFC 9112 §6.1
// lets a server process it as chunked and close; gwc refuses it, as nginx
// does, since the two framings are the raw material of request smuggling).
// It reads the raw header block once, noting on the way which hop-by-hop
// headers are present and whether Expect is.
func CheckRequest(h *fasthttp.RequestHeader) Check {
	return checkRaw(h.RawHeaders(), h.ContentLength() == -1)
}

// checkRaw is CheckRequest on a raw header block, in one pass: a line's
// name is read up to its colon, token byte by token byte, and the value is
// skipped to the line's end.
func checkRaw(raw []byte, chunked bool) Check {
	var c Check
	for i := 0; i < len(raw); {
		switch b := raw[i]; {
		case b == '\n':
			c.Problem = BareLF // an empty line of a bare LF
			return c
		case b == '\r' && i+1 == len(raw):
			i++
			continue
		case b == '\r' && raw[i+1] == '\n':
			i += 2 // the empty line that ends the head
			continue
		case b == ' ' || b == '\t':
			// obs-fold continuation: fasthttp has unfolded it
		default:
			start := i
			for i < len(raw) && tchar[raw[i]] {
				i++
			}
			if i == start || i == len(raw) || raw[i] != ':' {
				c.Problem = BadHeaderName
				return c
			}
			name := raw[start:i]
			switch len(name) {
			case len("Content-Length"):
				if chunked && bytes.EqualFold(name, []byte("Content-Length")) {
					c.Problem = CLAndTE
					return c
				}
			case len("Expect"):
				if bytes.EqualFold(name, []byte("Expect")) {
					c.Expect = true
				}
			case len("Authorization"):
				if bytes.EqualFold(name, []byte("Authorization")) {
					c.Authorizations++
				}
			}
			c.Hop |= hopBit(name)
		}
		// To the next line, which this one must end with CRLF.
		n := bytes.IndexByte(raw[i:], '\n')
		if n < 0 {
			break
		}
		if n == 0 || raw[i+n-1] != '\r' {
			c.Problem = BareLF
			return c
		}
		i += n + 1
	}
	return c
}

// hopHeaders are the hop-by-hop headers of RFC 9110 §7.6.1 and their
// customary companions; they concern one connection and are never
// forwarded. Transfer-Encoding is framing, which fasthttp owns on each hop.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// StripRequestHop removes the hop-by-hop headers of a request (hop, from
// CheckRequest) and those its Connection header names. Header names are
// normalised by the server, so Del matches them whatever case the client
// used.
func StripRequestHop(h *fasthttp.RequestHeader, hop HopSet) {
	if hop&hopConnection != 0 {
		delListed(h.PeekCanonical(header.Connection), h.DelBytes)
	}
	for i, k := range hopHeaders {
		if hop&(1<<i) != 0 {
			h.Del(k)
		}
	}
	// fasthttp keeps "Connection: close" as a flag, not a header: it concerns
	// the client's connection only, and the upstream connection stays pooled.
	h.ResetConnectionClose()
}

// StripResponseHop removes the hop-by-hop headers of an upstream response.
// It looks at the names once and deletes only those there (each deletion is
// a pass over the headers): usually just "Connection: keep-alive".
func StripResponseHop(h *fasthttp.ResponseHeader) {
	var hop HopSet
	for k := range h.All() {
		hop |= hopBit(k)
	}
	if hop&hopConnection != 0 {
		delListed(h.PeekCanonical(header.Connection), h.DelBytes)
	}
	for i, k := range hopHeaders {
		// fasthttp owns the response framing (Transfer-Encoding).
		if hop&(1<<i) != 0 && i != hopTransferEncoding {
			h.Del(k)
		}
	}
	// The upstream's Connection: close concerns the upstream hop only.
	h.ResetConnectionClose()
}

// Indexes in hopHeaders that are handled apart.
const (
	hopConnection       HopSet = 1 << 0
	hopTransferEncoding        = 7
)

// hopBit returns name's bit in a HopSet, 0 when it is not hop-by-hop,
// whatever its case. Names a Connection header lists are found through
// Connection itself. Only the hop-by-hop names of name's length are
// compared: for most names, none.
func hopBit(name []byte) HopSet {
	if len(name) >= len(hopByLen) {
		return 0
	}
	for m := hopByLen[len(name)]; m != 0; m &= m - 1 {
		i := bits.TrailingZeros16(uint16(m))
		if bytes.EqualFold(name, []byte(hopHeaders[i])) {
			return 1 << i
		}
	}
	return 0
}

// hopByLen is the set of hopHeaders of each length.
var hopByLen = func() (t [20]HopSet) {
	for i, k := range hopHeaders {
		t[len(k)] |= 1 << i
	}
	return t
}()

// delListed deletes the headers a Connection value names. It walks the value
// in place: bytes.Split would cost an allocation on every response, since
// upstreams send "Connection: keep-alive".
func delListed(c []byte, del func([]byte)) {
	for len(c) > 0 {
		tok := c
		if i := bytes.IndexByte(c, ','); i >= 0 {
			tok, c = c[:i], c[i+1:]
		} else {
			c = nil
		}
		if tok = bytes.TrimSpace(tok); len(tok) > 0 && !bytes.EqualFold(tok, []byte("keep-alive")) &&
			!bytes.EqualFold(tok, []byte("close")) {
			del(tok)
		}
	}
}

// Forwarded is what the gateway tells an upstream about the client hop.
type Forwarded struct {
	// Peer is the address of the connection's other end.
	Peer netip.Addr
	// Trusted says whether Peer is a trusted proxy, whose own X-Forwarded-*
	// and Forwarded headers are kept and appended to; from any other peer
	// they are replaced, so that a client cannot make an upstream believe
	// it comes from somewhere else.
	Trusted bool
	// Proto is "http" or "https": the scheme the client used.
	Proto string
}

// SetForwarded sets X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and
// Forwarded (RFC 7239) on a request about to be sent upstream. host is the
// Host the client asked for. Values are built in stack buffers and copied by
// SetCanonical, so this costs no allocation.
func SetForwarded(h *fasthttp.RequestHeader, f Forwarded, host []byte) {
	var buf [256]byte
	b := buf[:0]
	if f.Trusted {
		if prior := h.PeekCanonical(header.XForwardedFor); len(prior) > 0 && len(prior) < 192 {
			b = append(append(b, prior...), ", "...)
		}
	}
	b = f.Peer.AppendTo(b)
	h.SetCanonical(header.XForwardedFor, b)

	if !f.Trusted || len(h.PeekCanonical(header.XForwardedProto)) == 0 {
		h.SetCanonical(header.XForwardedProto, s2b(f.Proto))
	}
	if !f.Trusted || len(h.PeekCanonical(header.XForwardedHost)) == 0 {
		h.SetCanonical(header.XForwardedHost, host)
	}

	b = buf[:0]
	if f.Trusted {
		if prior := h.PeekCanonical(header.Forwarded); len(prior) > 0 && len(prior) < 160 {
			b = append(append(b, prior...), ", "...)
		}
	}
	b = append(b, "for="...)
	if f.Peer.Is6() {
		// RFC 7239 §6: an IPv6 address is quoted and bracketed.
		b = append(b, `"[`...)
		b = f.Peer.AppendTo(b)
		b = append(b, `]"`...)
	} else {
		b = f.Peer.AppendTo(b)
	}
	b = append(b, ";proto="...)
	b = append(b, f.Proto...)
	if validForwardedHost(host) {
		b = append(b, ";host="...)
		b = append(b, host...)
	}
	h.SetCanonical(header.Forwarded, b)
}

// validForwardedHost reports whether host can be written as a Forwarded
// token unquoted (a host name or IPv4 address, with a port); anything else
// is left out rather than quoted, since a client controls it.
func validForwardedHost(host []byte) bool {
	if len(host) == 0 || len(host) > 64 {
		return false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// s2b views s as bytes, for fasthttp methods that copy them; the bytes must
// not be written.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
