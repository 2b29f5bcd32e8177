package router

import (
	"fmt"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// BenchmarkLookup200 is the shape of BASELINES.md §3's router figures: 200
// routes with two path parameters each, looked up round-robin (httprouter:
// 204 ns/op, 1 alloc; http.ServeMux 608-662 ns/op, 2 allocs).
func BenchmarkLookup200(b *testing.B) {
	var routes []bundle.Route
	var paths []string
	for i := range 200 {
		routes = append(routes, bundle.Route{Method: "GET", Path: fmt.Sprintf("/api/v1/res%d/{id}/items/{item}", i), Operation: i})
		paths = append(paths, fmt.Sprintf("/api/v1/res%d/%d/items/abc%d", i, i*7, i))
	}
	r, err := New(routes)
	if err != nil {
		b.Fatal(err)
	}
	var ps Params
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, res := r.Lookup("GET", paths[i%len(paths)], &ps); res != Found {
			b.Fatal(res)
		}
		i++
	}
}

// BenchmarkNormalize times the path gate on a canonical path (the common
// case, no copy) and on one it must rewrite.
func BenchmarkNormalize(b *testing.B) {
	for _, p := range []string{"/2010-04-01/Accounts/AC0123456789/Calls/CA0123456789.json", "//v1/%70ets/caf%c3%a9"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
