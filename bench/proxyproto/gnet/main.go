// Command gnet is a prototype of an event-loop proxy engine on github.com/panjf2000/gnet/v2, kept to measure
// the HTTP engine choice against the goroutine-per-connection engines (docs/runtime-engine.md). It is an upper
// bound, not a proxy: Content-Length framing only, no pipelining, no chunked bodies, no streaming of large
// bodies, no timeouts; each client connection gets one upstream connection on the same event loop, so that a
// request and its answer never leave that loop's thread.
//
//	gnet -listen ADDR -upstream ADDR           # bytes forwarded with X-Forwarded-For inserted
//	gnet -parse -listen ADDR -upstream ADDR    # headers parsed and re-serialised with fasthttp's types, both ways
//
// It is a module of its own so that gwc's go.mod does not carry gnet.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/valyala/fasthttp"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/panjf2000/gnet/v2"
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

// reserialize parses the header of msg with fasthttp and appends it again,
// with X-Forwarded-For on requests, followed by the body.
func (p *pair) reserialize(msg []byte, request bool) []byte {
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
	return append(p.out, msg[i:]...)
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
			out := s.p.reserialize(msg, !s.upstream)
			if s.upstream {
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
	flag.Parse()
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
