package bench

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/server"
)

// serveBench serves bench/testdata/proxy.yaml (the spec of bench/proxy.sh)
// in front of a fasthttp upstream answering 105 bytes of JSON, all on
// 127.0.0.1, and returns a client for gwc. The upstream and the client are
// fasthttp too, so that what the benchmark adds to gwc's allocations per
// request is small and constant. engine is Options.Engine.
func serveBench(b *testing.B, engine string) *fasthttp.HostClient {
	b.Helper()
	body := []byte(`{"data":[{"id":1,"name":"alpha","status":"active"},{"id":2,"name":"betas","status":"idle"}],"more":false}`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go up.Serve(ln)                     //nolint:errcheck
	b.Cleanup(func() { up.Shutdown() }) //nolint:errcheck

	spec, err := os.ReadFile("testdata/proxy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("GWC_BENCH_KEYS", "bench:"+benchKey)
	path := filepath.Join(b.TempDir(), "proxy.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(spec), "UPSTREAM_ADDR", ln.Addr().String())), 0o644); err != nil {
		b.Fatal(err)
	}
	bun := compileBundle(b, path)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, server.Options{Listen: "127.0.0.1:0", Engine: engine,
		Load: func(context.Context) ([]server.Loaded, error) { return []server.Loaded{{Bundle: bun, Name: path}}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }() //nolint:errcheck
	b.Cleanup(func() { cancel(); <-done })
	return &fasthttp.HostClient{Addr: s.Addr().String(), MaxConns: 64, ReadTimeout: 5 * time.Second}
}

// orderBody is bench/proxy.sh's 1 KB POST body (its wrk Lua script).
var orderBody = func() []byte {
	var items []string
	for i := 1; i <= 11; i++ {
		items = append(items, `{"id":`+itoa(i)+`,"name":"item-`+pad4(i)+`","price":`+itoa(i*3)+`.99,"tags":["a","b"],"ok":true}`)
	}
	return []byte(`{"order":"ord_0123456789","items":[` + strings.Join(items, ",") + `],"note":"x"}`)
}()

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		i /= 10
		if i == 0 {
			return s
		}
	}
}

func pad4(i int) string { s := itoa(i); return strings.Repeat("0", 4-len(s)) + s }

// benchKey is the API key of proxy.yaml's /chain (as in bench/proxy.sh).
const benchKey = "bench-key-0123456789abcdef"

// BenchmarkServe measures gwc serve's whole request path over loopback: GET
// (a query parameter validated), POST (the 1 KB JSON body validated) and
// Chain (the same POST with an API key checked and a rate limit taken),
// proxied to the upstream, on the goroutine engine (gwc serve --engine
// goroutine). allocs/op include the benchmark's own client and upstream
// (fasthttp, about 0 each); ns/op include their CPU, since all three share
// the process. bench/proxy.sh is the side-by-side measurement.
func BenchmarkServe(b *testing.B) { benchServe(b, server.EngineGoroutine) }

// BenchmarkServeLoop is BenchmarkServe on the loop engine (the default).
// Read its allocs/op: its ns/op is one request at a time with the client and
// the upstream in the same process, whose goroutines take the Ps the loops'
// threads give up while they wait in epoll_wait, so that it measures the
// wake-ups of a process shared three ways. Across processes, one connection
// at a time, the loop engine answers sooner than the goroutine engine
// (bench/README.md).
func BenchmarkServeLoop(b *testing.B) { benchServe(b, server.EngineLoop) }

func benchServe(b *testing.B, engine string) {
	c := serveBench(b, engine)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   []byte
	}{{"GET", "GET", "/hello?limit=10", nil}, {"POST1KB", "POST", "/hello?limit=10", orderBody}, {"Chain", "POST", "/chain", orderBody}} {
		b.Run(tc.name, func(b *testing.B) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				req.Reset()
				req.Header.SetMethod(tc.method)
				req.SetRequestURI("http://" + c.Addr + tc.path)
				if tc.path == "/chain" {
					req.Header.Set("X-API-Key", benchKey)
				}
				if tc.body != nil {
					req.Header.SetContentType("application/json")
					req.SetBody(tc.body)
				}
				if err := c.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != 200 {
					b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
				}
			}
		})
	}
}
