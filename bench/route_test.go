package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/router"
)

// Route lookup is compared with julienschmidt/httprouter on the routes of
// real specs (DESIGN §7: ≤ httprouter's ns/op, 0 allocs/op). Each side is
// given one request path per route it holds, looked up round-robin.
// httprouter cannot hold parameters inside a segment (Twilio's
// "{Sid}.json") nor, in some places, a static segment beside a parameter
// (OpenAI's "/responses/compact" and "/responses/{response_id}"); those
// routes are left out of its table, and GWCCommon times gwc on exactly the
// paths httprouter holds.

// corpusRoutes compiles the named spec and returns its routing table.
func corpusRoutes(tb testing.TB, name string) []bundle.Route {
	tb.Helper()
	b, ds, err := compiler.Compile(context.Background(), compiler.Options{Spec: testcorpus.Path(tb, name)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ds.Err(); err != nil {
		tb.Fatal(err)
	}
	return b.Routes
}

// samplePath fills a template's parameters with distinct sample values and
// returns them, in order.
func samplePath(template string, seed int) (string, []string) {
	var b strings.Builder
	var vals []string
	for i := 0; i < len(template); i++ {
		if template[i] != '{' {
			b.WriteByte(template[i])
			continue
		}
		end := strings.IndexByte(template[i:], '}')
		if end < 0 {
			b.WriteString(template[i:])
			break
		}
		v := fmt.Sprintf("X%02d%03d", len(vals), seed)
		vals = append(vals, v)
		b.WriteString(v)
		i += end
	}
	return b.String(), vals
}

// httprouterPath converts a template to httprouter's syntax; ok is false
// when a parameter shares its segment with other text.
func httprouterPath(template string) (string, bool) {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		if s[0] != '{' || strings.IndexByte(s, '}') != len(s)-1 {
			return "", false
		}
		segs[i] = ":" + s[1:len(s)-1]
	}
	return strings.Join(segs, "/"), true
}

// addHTTPRouter adds one route, reporting false where httprouter panics
// (conflicting wildcards, duplicate routes).
func addHTTPRouter(hr *httprouter.Router, method, path string, h httprouter.Handle) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	hr.Handle(method, path, h)
	return true
}

type routeCase struct {
	gwc        *router.Router
	gwcPaths   []request // one per route gwc holds
	hr         *httprouter.Router
	hrPaths    []request // one per route httprouter holds
	routes     int
	skippedGWC int
}

type request struct {
	method, path string
	op           int
	vals         []string
}

func newRouteCase(tb testing.TB, name string) *routeCase {
	tb.Helper()
	routes := corpusRoutes(tb, name)
	r, err := router.New(routes)
	if err != nil {
		tb.Fatal(err)
	}
	c := &routeCase{gwc: r, hr: httprouter.New(), routes: len(routes), skippedGWC: len(r.Skipped())}
	skipped := map[int]bool{}
	for _, s := range r.Skipped() {
		skipped[s.Route.Operation] = true
	}
	noop := func(http.ResponseWriter, *http.Request, httprouter.Params) {}
	for i, rt := range routes {
		path, vals := samplePath(rt.Path, i)
		req := request{method: rt.Method, path: path, op: rt.Operation, vals: vals}
		if !skipped[rt.Operation] {
			c.gwcPaths = append(c.gwcPaths, req)
		}
		if p, ok := httprouterPath(rt.Path); ok && !strings.ContainsAny(rt.Path, "?#") && addHTTPRouter(c.hr, rt.Method, p, noop) {
			c.hrPaths = append(c.hrPaths, req)
		}
	}
	return c
}

// TestRouteCorpus routes every template of the corpus specs, instantiated
// with sample values, back to its own operation and values.
func TestRouteCorpus(t *testing.T) {
	for _, name := range []string{testcorpus.TwilioAPI, testcorpus.OpenAI, testcorpus.DigitalOcean} {
		t.Run(name, func(t *testing.T) {
			c := newRouteCase(t, name)
			t.Logf("%d routes: gwc holds %d (%d with a query string in the template skipped), httprouter %d",
				c.routes, len(c.gwcPaths), c.skippedGWC, len(c.hrPaths))
			var ps router.Params
			for _, req := range c.gwcPaths {
				path, err := router.Normalize(req.path)
				if err != nil {
					t.Errorf("%s: %v", req.path, err)
					continue
				}
				op, res := c.gwc.Lookup(req.method, path, &ps)
				if res != router.Found || op != req.op {
					t.Errorf("%s %s: op %d %v, want op %d", req.method, path, op, res, req.op)
					continue
				}
				for i, v := range req.vals {
					if ps.Value(i) != v {
						t.Errorf("%s %s: parameter %d = %q, want %q", req.method, path, i, ps.Value(i), v)
					}
				}
			}
		})
	}
}

func benchmarkRouteGWC(b *testing.B, name string, common, normalize bool) {
	c := newRouteCase(b, name)
	reqs := c.gwcPaths
	if common {
		reqs = c.hrPaths
	}
	var ps router.Params
	b.ReportAllocs()
	b.ReportMetric(float64(len(reqs)), "routes")
	i := 0
	for b.Loop() {
		req := &reqs[i%len(reqs)]
		path := req.path
		if normalize {
			path, _ = router.Normalize(path)
		}
		if _, res := c.gwc.Lookup(req.method, path, &ps); res != router.Found {
			b.Fatalf("%s %s: %v", req.method, req.path, res)
		}
		i++
	}
}

func benchmarkRouteHTTPRouter(b *testing.B, name string) {
	c := newRouteCase(b, name)
	reqs := c.hrPaths
	b.ReportAllocs()
	b.ReportMetric(float64(len(reqs)), "routes")
	i := 0
	for b.Loop() {
		req := &reqs[i%len(reqs)]
		if h, _, _ := c.hr.Lookup(req.method, req.path); h == nil {
			b.Fatalf("%s %s: not found", req.method, req.path)
		}
		i++
	}
}

func BenchmarkRouteTwilioGWC(b *testing.B) { benchmarkRouteGWC(b, testcorpus.TwilioAPI, false, false) }
func BenchmarkRouteTwilioGWCCommon(b *testing.B) {
	benchmarkRouteGWC(b, testcorpus.TwilioAPI, true, false)
}
func BenchmarkRouteTwilioGWCNormalize(b *testing.B) {
	benchmarkRouteGWC(b, testcorpus.TwilioAPI, false, true)
}
func BenchmarkRouteTwilioHTTPRouter(b *testing.B) { benchmarkRouteHTTPRouter(b, testcorpus.TwilioAPI) }
func BenchmarkRouteOpenAIGWC(b *testing.B)        { benchmarkRouteGWC(b, testcorpus.OpenAI, false, false) }
func BenchmarkRouteOpenAIGWCCommon(b *testing.B) {
	benchmarkRouteGWC(b, testcorpus.OpenAI, true, false)
}
func BenchmarkRouteOpenAIGWCNormalize(b *testing.B) {
	benchmarkRouteGWC(b, testcorpus.OpenAI, false, true)
}
func BenchmarkRouteOpenAIHTTPRouter(b *testing.B) { benchmarkRouteHTTPRouter(b, testcorpus.OpenAI) }
