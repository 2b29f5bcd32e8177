// Command gnet is a prototype of an event-loop proxy engine on github.com/panjf2000/gnet/v2, kept to measure
// the HTTP engine choice against the goroutine-per-connection engines (docs/runtime-engine.md). It is an upper
// bound, not a proxy: Content-Length framing only, no pipelining, no chunked bodies, no streaming of large
// bodies, no timeouts; each client connection gets one upstream connection on the same event loop, so that a
// request and its answer never leave that loop's thread.
//
//	gnet -listen ADDR -upstream ADDR           # bytes forwarded with X-Forwarded-For inserted
//	gnet -parse -listen ADDR -upstream ADDR    # headers parsed and re-serialised with fasthttp's types, both ways
//	gnet -parse -chain BUNDLE -listen ADDR -upstream ADDR
//
// -chain adds, on the loop, the work of gwc's full chain on the operation "chain" of BUNDLE (bench/proxy.sh's
// spec): the API key of X-API-Key looked up by its SHA-256 among GWC_BENCH_KEYS's, a request taken from gwc's
// in-memory rate limiter (runtime/ratelimit) keyed by client, and the body validated by gwc's validator
// (runtime/validate); a request that fails one is answered 401, 429 or 400 on the loop. It measures what gwc's
// request path would do on an event loop, short of gwc's routing, metrics and headers.
//
// It is a module of its own so that gwc's go.mod does not carry gnet.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/ratelimit"
	"github.com/gwcdev/gwc/runtime/validate"
	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"
)

type pair struct {
	client, up gnet.Conn
	pending    []byte
	req        fasthttp.RequestHeader
	resp       fasthttp.ResponseHeader
	out        []byte
	br         *bufio.Reader
	rd         bytes.Reader
}

var parse = flag.Bool("parse", false, "parse and re-serialise headers with fasthttp's types")

// chain is the gateway work of -chain.
var chain struct {
	op      *validate.Operation
	keys    map[[32]byte]string // SHA-256 of a key → its client
	store   *ratelimit.Memory
	limit   ratelimit.Limit
	enabled bool
}

func loadChain(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b, _, err := bundle.Decode(data, bundle.DecodeOptions{})
	if err != nil {
		return err
	}
	v, err := validate.Compile(b)
	if err != nil {
		return err
	}
	for i, o := range b.Operations {
		if o.ID == "chain" {
			chain.op = v.Operation(i)
		}
	}
	if chain.op == nil {
		return fmt.Errorf("%s has no operation chain", path)
	}
	chain.keys = map[[32]byte]string{}
	for _, kv := range strings.Split(os.Getenv("GWC_BENCH_KEYS"), ",") {
		client, key, _ := strings.Cut(kv, ":")
		chain.keys[sha256.Sum256([]byte(key))] = client
	}
	chain.store = ratelimit.NewMemory()
	chain.limit = ratelimit.Limit{Name: "bench", Requests: 100000000, Per: time.Second, Burst: 100000000}
	chain.enabled = true
	return nil
}

var (
	answer401 = []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
	answer429 = []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n")
	answer400 = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
)

// check does the chain's work on a parsed request and its body; it returns
// the answer of a refused request, nil when the request goes on.
func (p *pair) check(body []byte) []byte {
	client, ok := chain.keys[sha256.Sum256(p.req.Peek("X-API-Key"))]
	if !ok {
		return answer401
	}
	if res, err := chain.store.Allow(context.Background(), &chain.limit, client); err != nil || !res.Allowed {
		return answer429
	}
	if err := chain.op.BodyBytes(string(p.req.ContentType()), body); err != nil {
		return answer400
	}
	return nil
}

// reserialize parses the header of msg with fasthttp and appends it again,
// with X-Forwarded-For on requests, followed by the body.
// A request the chain refuses is not forwarded: refused is its answer.
func (p *pair) reserialize(msg []byte, request bool) (out, refused []byte) {
	p.rd.Reset(msg)
	if p.br == nil {
		p.br = bufio.NewReaderSize(&p.rd, 8192)
	} else {
		p.br.Reset(&p.rd)
	}
	i := bytes.Index(msg, crlf2) + 4
	p.out = p.out[:0]
	if request {
		p.req.Reset()
		if err := p.req.Read(p.br); err != nil {
			log.Print(err)
		}
		if chain.enabled {
			if refused := p.check(msg[i:]); refused != nil {
				return nil, refused
			}
			p.req.Del("X-API-Key")
		}
		p.req.Del("Connection")
		p.req.Set("X-Forwarded-For", "127.0.0.1")
		p.out = p.req.AppendBytes(p.out)
	} else {
		p.resp.Reset()
		if err := p.resp.Read(p.br); err != nil {
			log.Print(err)
		}
		p.resp.Del("Connection")
		p.out = p.resp.AppendBytes(p.out)
	}
	return append(p.out, msg[i:]...), nil
}

type side struct {
	p        *pair
	upstream bool
}

type proxy struct {
	gnet.BuiltinEventEngine
	upAddr net.Addr
}

var crlf2 = []byte("\r\n\r\n")

// frame returns the length of the first complete message in b, or 0.
func frame(b []byte) int {
	i := bytes.Index(b, crlf2)
	if i < 0 {
		return 0
	}
	h := b[:i+2]
	cl := 0
	for len(h) > 0 {
		j := bytes.IndexByte(h, '\n')
		line := h[:j]
		h = h[j+1:]
		if len(line) > 16 && (line[0] == 'C' || line[0] == 'c') && bytes.EqualFold(line[:15], []byte("content-length:")) {
			for _, c := range bytes.TrimSpace(line[15:]) {
				cl = cl*10 + int(c-'0')
			}
		}
	}
	n := i + 4 + cl
	if len(b) < n {
		return 0
	}
	return n
}

var xff = []byte("X-Forwarded-For: 127.0.0.1\r\n")

func (p *proxy) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if s, ok := c.Context().(*side); ok && s.upstream {
		s.p.up = c
		if len(s.p.pending) > 0 {
			c.Write(s.p.pending)
			s.p.pending = s.p.pending[:0]
		}
		return nil, gnet.None
	}
	pr := &pair{client: c}
	c.SetContext(&side{p: pr})
	ctx := gnet.NewContext(context.Background(), &side{p: pr, upstream: true})
	if _, err := c.EventLoop().Register(ctx, p.upAddr); err != nil {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

func (p *proxy) OnTraffic(c gnet.Conn) gnet.Action {
	s := c.Context().(*side)
	buf, _ := c.Peek(-1)
	for {
		n := frame(buf)
		if n == 0 {
			return gnet.None
		}
		msg := buf[:n]
		if *parse {
			out, refused := s.p.reserialize(msg, !s.upstream)
			if refused != nil {
				c.Write(refused)
			} else if s.upstream {
				s.p.client.Write(out)
			} else if s.p.up == nil {
				s.p.pending = append(s.p.pending, out...)
			} else {
				s.p.up.Write(out)
			}
		} else if s.upstream {
			s.p.client.Write(msg)
		} else {
			i := bytes.Index(msg, crlf2) + 2
			out := msg
			if s.p.up == nil {
				s.p.pending = append(append(append(s.p.pending, msg[:i]...), xff...), msg[i:]...)
			} else {
				s.p.up.Writev([][]byte{out[:i], xff, out[i:]})
			}
		}
		c.Discard(n)
		buf = buf[n:]
	}
}

func (p *proxy) OnClose(c gnet.Conn, err error) gnet.Action {
	s := c.Context().(*side)
	if s.upstream {
		if s.p.client != nil {
			s.p.client.Close()
		}
	} else if s.p.up != nil {
		s.p.up.Close()
	}
	return gnet.None
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "")
	upstream := flag.String("upstream", "127.0.0.1:8081", "")
	loops := flag.Int("loops", 0, "event loops (0: one per CPU)")
	chainBundle := flag.String("chain", "", "with -parse: do gwc's full-chain work for the operation chain of this bundle")
	flag.Parse()
	if *chainBundle != "" {
		if !*parse {
			log.Fatal("-chain needs -parse")
		}
		if err := loadChain(*chainBundle); err != nil {
			log.Fatal(err)
		}
	}
	up, err := net.ResolveTCPAddr("tcp", *upstream)
	if err != nil {
		log.Fatal(err)
	}
	opts := []gnet.Option{gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLoadBalancing(gnet.LeastConnections)}
	if *loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(*loops))
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		<-ch
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "mallocs %d bytes %d gc %d\n", ms.Mallocs, ms.TotalAlloc, ms.NumGC)
		os.Exit(0)
	}()
	log.Fatal(gnet.Run(&proxy{upAddr: up}, "tcp://"+*listen, opts...))
}
