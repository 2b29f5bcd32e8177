// Command loadgen sends a fixed number of requests over a few keep-alive
// connections and exits: the load of bench/instructions.sh, which needs a
// count of requests rather than wrk's duration.
//
//	loadgen -addr 127.0.0.1:8080 -n 4000 -c 4 [-post body.json] [-path /hello?limit=10] [-header "X-API-Key: k"]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to send to")
	path := flag.String("path", "/hello?limit=10", "request target")
	n := flag.Int("n", 2000, "requests in all")
	c := flag.Int("c", 4, "connections, each sending its share in turn")
	post := flag.String("post", "", "send POSTs with this file as an application/json body")
	header := flag.String("header", "", `a header to send with every request, "Name: value"`)
	flag.Parse()
	hname, hvalue, hasHeader := strings.Cut(*header, ":")
	if *header != "" && !hasHeader {
		fmt.Fprintln(os.Stderr, `loadgen: -header must be "Name: value"`)
		os.Exit(2)
	}
	var body []byte
	if *post != "" {
		var err error
		if body, err = os.ReadFile(*post); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
	}
	hc := &fasthttp.HostClient{Addr: *addr, MaxConns: *c}
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for i := 0; i < *c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			for j := 0; j < *n / *c; j++ {
				req.Reset()
				req.SetRequestURI("http://" + *addr + *path)
				if body != nil {
					req.Header.SetMethod("POST")
					req.Header.SetContentType("application/json")
					req.SetBody(body)
				}
				if hasHeader {
					req.Header.Set(hname, strings.TrimSpace(hvalue))
				}
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					mu.Lock()
					if failed == 0 {
						fmt.Fprintln(os.Stderr, "loadgen: first failure:", err, resp.StatusCode(), string(resp.Body()))
					}
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d of %d requests failed\n", failed, *n)
		os.Exit(1)
	}
}
