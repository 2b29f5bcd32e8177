// Command nbio is a prototype of a proxy on github.com/lesismal/nbio's nbhttp, the event-loop HTTP/1.x server
// and client for Go, kept to measure it against the engines of docs/runtime-engine.md. nbhttp parses requests on
// its pollers and hands them, as net/http types, to a handler; its Client sends on the same pollers and calls
// back with the response. nbhttp has no way to answer a request after its handler returns, so the handler waits
// for the client's callback (the handler runs on nbhttp's goroutine pool, the default, or on the poller with
// -sync, where waiting is impossible: -sync answers without forwarding, the engine's own ceiling).
//
//	nbio -listen ADDR -upstream ADDR
//	nbio -sync -listen ADDR -upstream ADDR     # no upstream call: a 105-byte answer from the poller
//
// It is a module of its own so that gwc's go.mod does not carry nbio.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/lesismal/nbio/nbhttp"
)

// hop are the hop-by-hop headers a proxy must not forward.
var hop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// answer is what the client's callback hands the waiting handler: the
// response's status and header, and its body read into a pooled buffer while
// the client still owned it.
type answer struct {
	status int
	header http.Header
	body   *[]byte
	err    error
	wg     sync.WaitGroup
}

var answers = sync.Pool{New: func() any { return new(answer) }}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

var canned = []byte(`{"ok":true,"items":[1,2,3],"note":"a 105-byte answer, as the upstream of bench/proxy.sh gives"}`)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "")
	upstream := flag.String("upstream", "127.0.0.1:8081", "")
	syncMode := flag.Bool("sync", false, "answer on the poller without forwarding")
	flag.Parse()

	var engine *nbhttp.Engine
	client := &nbhttp.Client{MaxConnsPerHost: 256, Timeout: 10 * time.Second}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *syncMode {
			w.Header().Set("Content-Type", "application/json")
			w.Write(canned)
			return
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host = "http", *upstream
		for _, h := range hop {
			out.Header.Del(h)
		}
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			out.Header.Set("X-Forwarded-For", ip)
		}
		a := answers.Get().(*answer)
		a.wg.Add(1)
		client.Do(out, func(res *http.Response, _ net.Conn, err error) {
			defer a.wg.Done()
			if a.err = err; err != nil {
				return
			}
			b := bufs.Get().(*[]byte)
			buf := bytes.NewBuffer((*b)[:0])
			_, a.err = buf.ReadFrom(res.Body)
			*b = buf.Bytes()
			a.status, a.header, a.body = res.StatusCode, res.Header, b
		})
		a.wg.Wait()
		if a.err != nil {
			http.Error(w, a.err.Error(), http.StatusBadGateway)
		} else {
			h := w.Header()
			for k, v := range a.header {
				h[k] = v
			}
			for _, name := range hop {
				h.Del(name)
			}
			w.WriteHeader(a.status)
			w.Write(*a.body)
		}
		if a.body != nil {
			bufs.Put(a.body)
		}
		a.status, a.header, a.body, a.err = 0, nil, nil, nil
		answers.Put(a)
	})
	conf := nbhttp.Config{Network: "tcp", Addrs: []string{*listen}, Handler: handler, NPoller: runtime.GOMAXPROCS(0)}
	if *syncMode {
		conf.ServerExecutor = func(f func()) { f() }
	}
	engine = nbhttp.NewEngine(conf)
	client.Engine = engine
	if err := engine.Start(); err != nil {
		log.Fatal(err)
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	<-ch
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "mallocs %d bytes %d gc %d\n", ms.Mallocs, ms.TotalAlloc, ms.NumGC)
	os.Exit(0)
}
