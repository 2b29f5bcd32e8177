package xgateway

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/compiler/spec"
)

// genSpec writes a spec with n operations (n/3 paths with get, put and
// post), each with an x-gateway of a few keys.
func genSpec(n int) []byte {
	var b strings.Builder
	b.WriteString(`openapi: 3.1.0
info: {title: bench, version: "1"}
x-gateway:
  upstreams:
    pets: {targets: [http://127.0.0.1:9001, {url: http://127.0.0.1:9002, weight: 2}], timeout: 5s, retries: {attempts: 2, on: [connect-error, 502]}}
  rate_limits:
    per-client: {requests: 100, per: 1s, burst: 50, key: client}
  cors: {allow_origins: [https://app.example.com], allow_credentials: true, max_age: 10m}
  defaults: {upstream: pets, timeout: 10s, rate_limit: per-client, max_body: 1MiB}
paths:
`)
	for i := 0; i < n; i += 3 {
		fmt.Fprintf(&b, "  /r%d/{id}:\n", i)
		for j, m := range []string{"get", "put", "post"} {
			if i+j >= n {
				break
			}
			fmt.Fprintf(&b, `    %s:
      responses: {'200': {description: ok}}
      x-gateway:
        path: /v2/r%d/{id}
        timeout: %ds
        cache: {ttl: 30s, vary: [Accept-Language]}
        rate_limit: {requests: 10, per: 1s, key: "header:X-Key"}
        headers: {request: {set: {X-Tenant: "{claims.tenant}", X-Id: "{path.id}"}, remove: [Cookie]}}
        ip: {allow: [10.0.0.0/8]}
        max_body: 512KB
`, m, i+j, 1+j)
		}
	}
	return []byte(b.String())
}

func BenchmarkCheck300(b *testing.B) {
	doc, ds := (&spec.Loader{}).LoadData("bench.yaml", genSpec(300))
	if ds.HasErrors() {
		b.Fatal(ds.Err())
	}
	if ds := Check(doc); len(ds) != 0 {
		b.Fatalf("the generated spec is not clean:\n%s", formatDiags(ds))
	}
	b.ReportAllocs()
	for b.Loop() {
		Check(doc)
	}
}

// FuzzCheck loads arbitrary YAML and runs Check and the decoders on it:
// none may panic, whatever the input.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/check/*.txtar")
	for _, file := range files {
		ar := readArchive(f, file)
		for _, af := range ar.Files {
			if af.Name == "spec.yaml" {
				f.Add(af.Data)
			}
		}
	}
	f.Add(genSpec(3))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := (&spec.Loader{}).LoadData("f.yaml", data)
		Check(doc)
		if doc == nil || doc.Root == nil {
			return
		}
		DecodeRoot(doc.Root.Get("x-gateway"))
		for _, p := range pairs(doc.Root.Get("paths")) {
			item := object(p.Value)
			DecodePolicy(item.Get("x-gateway"))
			for _, m := range methods {
				DecodePolicy(object(item.Get(m)).Get("x-gateway"))
			}
		}
		for _, p := range pairs(object(doc.Root.Get("components")).Get("securitySchemes")) {
			DecodeScheme(object(p.Value).Get("x-gateway"))
		}
	})
}
