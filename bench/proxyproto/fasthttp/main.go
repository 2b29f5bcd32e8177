// Command fasthttp is a prototype of gwc serve's plain proxy path on github.com/valyala/fasthttp, kept to
// measure the HTTP engine choice (docs/runtime-engine.md). The server's parsed request is handed to a
// HostClient as is (fasthttp's own proxy idiom), after the hop-by-hop headers are removed, and the upstream's
// response is written back through the same RequestCtx, streamed both ways.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve on")
	upstream := flag.String("upstream", "127.0.0.1:8080", "upstream host:port")
	idle := flag.Int("idle", 256, "upstream connections kept")
	lifo := flag.Bool("lifo", false, "reuse the most recently used upstream connection first")
	flag.Parse()

	hc := &fasthttp.HostClient{
		Addr:                          *upstream,
		MaxConns:                      *idle,
		MaxIdleConnDuration:           90 * time.Second,
		ReadTimeout:                   60 * time.Second,
		WriteTimeout:                  60 * time.Second,
		StreamResponseBody:            true, // a response body is copied to the client as it arrives
		DisableHeaderNamesNormalizing: true, // forward names as received; normalising costs a pass per header
		DisablePathNormalizing:        true, // the path reaches the upstream as the client sent it
		NoDefaultUserAgentHeader:      true,
		MaxConnWaitTimeout:            5 * time.Second,
	}
	go reportOnTerm()
	if *lifo {
		hc.ConnPoolStrategy = fasthttp.LIFO
	}
	p := &proxy{hc: hc}
	srv := &fasthttp.Server{
		Handler:                       p.serve,
		Name:                          "",
		NoDefaultServerHeader:         true, // the upstream's Server header is passed through instead
		NoDefaultContentType:          true,
		NoDefaultDate:                 true,
		StreamRequestBody:             true, // a request body is sent upstream as it arrives, not buffered whole
		DisableHeaderNamesNormalizing: true,
		DisablePreParseMultipartForm:  true,
		ReadTimeout:                   60 * time.Second,
		IdleTimeout:                   60 * time.Second,
		Logger:                        quiet{},
	}
	log.Fatal(srv.ListenAndServe(*listen))
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

type proxy struct{ hc *fasthttp.HostClient }

var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func (p *proxy) serve(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	if req.Header.ContentLength() == -1 && hasContentLength(req.Header.RawHeaders()) {
		// fasthttp follows RFC 9112 §6.1's other choice (chunked wins, connection closed afterwards); gwc
		// refuses the request outright, as nginx does. Only chunked requests pay for this scan.
		ctx.Error("both Content-Length and Transfer-Encoding", fasthttp.StatusBadRequest)
		ctx.SetConnectionClose() // after Error, which resets the response
		return
	}
	if !validNames(&req.Header) {
		// fasthttp's parser takes any bytes but ':' in a header name (it forwarded "Bad Name: x"); a name that
		// is not an RFC 9110 token is refused, and the connection closed, as net/http and nginx do.
		ctx.Error("invalid header name", fasthttp.StatusBadRequest)
		ctx.SetConnectionClose() // after Error, which resets the response
		return
	}
	stripHop(&req.Header)
	// fasthttp keeps Connection: close as a flag, not a header; the upstream connection stays pooled either way.
	req.Header.ResetConnectionClose()
	if len(req.Header.Host()) == 0 {
		// An HTTP/1.0 request may come without Host; HostClient refuses to send one without it.
		req.Header.SetHost(p.hc.Addr)
	}
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.SetBytesV("X-Forwarded-Host", req.Header.Host())
	// Built in a stack buffer: SetBytesV copies it, so X-Forwarded-For costs no allocation.
	var xff [128]byte
	b := xff[:0]
	if prior := req.Header.Peek("X-Forwarded-For"); len(prior) > 0 {
		b = append(append(b, prior...), ", "...)
	}
	ip, _ := netip.AddrFromSlice(ctx.RemoteIP())
	b = ip.Unmap().AppendTo(b)
	req.Header.SetBytesV("X-Forwarded-For", b)
	resp := &ctx.Response
	if err := p.hc.Do(req, resp); err != nil {
		resp.Reset()
		ctx.Error("bad gateway", fasthttp.StatusBadGateway)
		return
	}
	// The upstream's Connection: close concerns the upstream hop only.
	resp.Header.ResetConnectionClose()
	stripResponseHop(&resp.Header)
}

// stripHop removes the hop-by-hop headers and those Connection names (RFC 9110 §7.6.1).
func stripHop(h *fasthttp.RequestHeader) {
	delListed(h.Peek("Connection"), h.DelBytes)
	// Names are kept as received (DisableHeaderNamesNormalizing), so Del's exact match would miss "TE" or
	// "keep-alive": compare without case instead.
	var drop [][]byte
	for k := range h.All() {
		if isHop(k) {
			drop = append(drop, append([]byte(nil), k...))
		}
	}
	for _, k := range drop {
		h.DelBytes(k)
	}
}

// delListed deletes the headers a Connection value names. It walks the value in place: bytes.Split would cost
// an allocation on every response, since upstreams send "Connection: keep-alive".
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

func validNames(h *fasthttp.RequestHeader) bool {
	for k := range h.All() {
		for _, c := range k {
			if !tchar[c] {
				return false
			}
		}
	}
	return true
}

// hasContentLength reports whether the raw header block has a Content-Length line.
func hasContentLength(raw []byte) bool {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) > 15 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
			return true
		}
	}
	return false
}

func isHop(k []byte) bool {
	if len(k) > 6 && bytes.EqualFold(k[:6], []byte("Proxy-")) {
		return true
	}
	for _, hk := range hopHeaders {
		if bytes.EqualFold(k, []byte(hk)) {
			return true
		}
	}
	return false
}

func stripResponseHop(h *fasthttp.ResponseHeader) {
	delListed(h.Peek("Connection"), h.DelBytes)
	for _, k := range hopHeaders {
		if k != "Transfer-Encoding" { // fasthttp owns the response framing
			h.Del(k)
		}
	}
}

// reportOnTerm prints the process's allocation totals when it is stopped, so that bench/proxy.sh can state
// allocations per request beside CPU per request.
func reportOnTerm() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	<-ch
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "mallocs %d bytes %d gc %d\n", ms.Mallocs, ms.TotalAlloc, ms.NumGC)
	os.Exit(0)
}
