// Command nethttp is a prototype of gwc serve's plain proxy path on net/http, kept to measure the HTTP engine
// choice (docs/runtime-engine.md). It proxies every request to one upstream, in one of three modes:
//
//	stock      httputil.ReverseProxy with a tuned Transport: the reference Go figure of BASELINES §2
//	transport  a hand-written handler over a tuned http.Transport: no ReverseProxy, pooled copy buffers
//	raw        a hand-written HTTP/1.1 client over pooled net.Conns: the request is written straight from the
//	           server's parsed request to the upstream connection, the response is parsed by http.ReadResponse
//
// The server side is net/http in every mode, so request parsing (and its smuggling defences) is the standard
// library's.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve on")
	upstream := flag.String("upstream", "127.0.0.1:8080", "upstream host:port")
	mode := flag.String("mode", "raw", "stock, transport or raw")
	idle := flag.Int("idle", 256, "idle upstream connections kept")
	flag.Parse()

	var h http.Handler
	switch *mode {
	case "stock":
		rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: *upstream})
		rp.Transport = newTransport(*idle)
		rp.BufferPool = bufPool{}
		h = rp
	case "transport":
		h = &transportProxy{upstream: *upstream, rt: newTransport(*idle)}
	case "raw":
		h = &rawProxy{pool: &connPool{addr: *upstream, idle: make(chan *upConn, *idle)}}
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
	go reportOnTerm()
	srv := &http.Server{
		Addr:              *listen,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // a benchmark's closed connections are not news
	}
	log.Fatal(srv.ListenAndServe())
}

func newTransport(idle int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // pass bodies through untouched, and skip gzip's per-request state
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
}

// copyBufs holds the body copy buffers: one 32 KiB buffer per request is the largest allocation a proxy makes.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type bufPool struct{}

func (bufPool) Get() []byte  { return *(copyBufs.Get().(*[]byte)) }
func (bufPool) Put(b []byte) { copyBufs.Put(&b) }

// hopHeaders are dropped in both directions (RFC 9110 §7.6.1), with the names Connection lists.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// isHop reports whether the canonical header name k must not be forwarded. It scans Connection's tokens in
// place rather than building a set, so a request without Connection options costs no allocation.
func isHop(k string, h http.Header) bool {
	for _, hk := range hopHeaders {
		if k == hk {
			return true
		}
	}
	if strings.HasPrefix(k, "Proxy-") {
		return true
	}
	for _, v := range h["Connection"] {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), k) {
				return true
			}
		}
	}
	return false
}

// clientIP returns the host part of RemoteAddr without net.SplitHostPort's error path.
func clientIP(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return strings.Trim(r.RemoteAddr[:i], "[]")
	}
	return r.RemoteAddr
}

// transportProxy forwards through a tuned http.Transport without ReverseProxy's extra work (header clones,
// trailer and 1xx plumbing, per-request goroutines for context cancellation).
type transportProxy struct {
	upstream string
	rt       *http.Transport
}

func (p *transportProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out := &http.Request{
		Method:        r.Method,
		URL:           &url.URL{Scheme: "http", Host: p.upstream, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(r.Header)+3),
		Body:          r.Body,
		ContentLength: r.ContentLength,
		Host:          r.Host,
	}
	if r.ContentLength == 0 {
		out.Body = nil // tells Transport there is nothing to send, so it does not probe the body
	}
	out = out.WithContext(r.Context())
	for k, v := range r.Header {
		if !isHop(k, r.Header) {
			out.Header[k] = v
		}
	}
	setForwarded(out.Header, r)
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	writeResponse(w, resp)
}

func setForwarded(h http.Header, r *http.Request) {
	ip := clientIP(r)
	if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
		ip = strings.Join(prior, ", ") + ", " + ip
	}
	h["X-Forwarded-For"] = []string{ip}
	h["X-Forwarded-Proto"] = []string{"http"}
	h["X-Forwarded-Host"] = []string{r.Host}
}

// writeResponse copies status, end-to-end headers and the body, flushing after each read when the upstream
// did not announce a length, so a streamed response reaches the client as it is produced.
func writeResponse(w http.ResponseWriter, resp *http.Response) {
	dst := w.Header()
	for k, v := range resp.Header {
		if !isHop(k, resp.Header) {
			dst[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	if resp.ContentLength >= 0 {
		io.CopyBuffer(w, resp.Body, *bp)
		return
	}
	fl, _ := w.(http.Flusher)
	buf := *bp
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// connPool keeps idle upstream connections in a buffered channel: LIFO order does not matter for one
// upstream, and a channel needs no lock of ours.
type connPool struct {
	addr string
	idle chan *upConn
}

type upConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func (p *connPool) get() (*upConn, bool, error) {
	select {
	case uc := <-p.idle:
		return uc, true, nil
	default:
	}
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, false, nil
}

func (p *connPool) put(uc *upConn) {
	select {
	case p.idle <- uc:
	default:
		uc.c.Close()
	}
}

// rawProxy writes the request to a pooled upstream connection itself: no outbound http.Request, no header map
// copy, no Transport goroutines. The response is read with http.ReadResponse on the same connection.
type rawProxy struct{ pool *connPool }

func (p *rawProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for attempt := 0; ; attempt++ {
		uc, reused, err := p.pool.get()
		if err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		resp, sentBody, err := p.roundTrip(uc, r)
		if err != nil {
			uc.c.Close()
			// A pooled connection the upstream closed while idle fails before any byte of the body was read:
			// such a request is retried once on a fresh connection, as Transport does.
			if reused && !sentBody && attempt == 0 {
				continue
			}
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		writeResponse(w, resp)
		// The connection goes back to the pool only if the body was read to its end and the upstream keeps it.
		_, err = resp.Body.Read(nil)
		if resp.Close || (err != io.EOF && resp.ContentLength != 0) {
			uc.c.Close()
		} else {
			resp.Body.Close()
			p.pool.put(uc)
		}
		return
	}
}

func (p *rawProxy) roundTrip(uc *upConn, r *http.Request) (*http.Response, bool, error) {
	bw := uc.bw
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.RequestURI)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	for k, vs := range r.Header {
		// net/http leaves Content-Length in r.Header; the framing below writes its own. Expect was answered
		// by the server when the handler first read the body, so the upstream is not asked again.
		if isHop(k, r.Header) || k == "Content-Length" || k == "Expect" || k == "X-Forwarded-For" || k == "X-Forwarded-Proto" || k == "X-Forwarded-Host" {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("X-Forwarded-For: ")
	for _, v := range r.Header["X-Forwarded-For"] {
		bw.WriteString(v)
		bw.WriteString(", ")
	}
	bw.WriteString(clientIP(r))
	bw.WriteString("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	sentBody := false
	switch {
	case r.ContentLength > 0:
		var lb [20]byte
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(lb[:0], r.ContentLength, 10))
		bw.WriteString("\r\n\r\n")
		sentBody = true
		if err := copyBody(bw, r.Body, false); err != nil {
			return nil, sentBody, err
		}
	case r.ContentLength < 0:
		// Unknown length (chunked from the client): re-framed as chunked, never passed through as received.
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		sentBody = true
		if err := copyBody(bw, r.Body, true); err != nil {
			return nil, sentBody, err
		}
		bw.WriteString("0\r\n\r\n")
	default:
		bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil {
		return nil, sentBody, err
	}
	for {
		resp, err := http.ReadResponse(uc.br, r)
		// Interim 1xx responses (the upstream's own 100 Continue, 103 Early Hints) are not the answer.
		if err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			continue
		}
		return resp, sentBody, err
	}
}

var errShortBody = errors.New("request body shorter than its Content-Length")

func copyBody(bw *bufio.Writer, body io.Reader, chunked bool) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if chunked {
				var hb [16]byte
				bw.Write(strconv.AppendInt(hb[:0], int64(n), 16))
				bw.WriteString("\r\n")
			}
			bw.Write(buf[:n])
			if chunked {
				bw.WriteString("\r\n")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return errShortBody
			}
			return err
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
