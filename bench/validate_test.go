package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/internal/testspec"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/validate"
)

// validateSpec is the petstore both validators are measured on, shared with
// runtime/validate's benchmarks (whose benchSchema is its NewPet).
func validateSpec(tb testing.TB) string {
	tb.Helper()
	return testspec.Path(tb, testspec.ValidatePetstore)
}

// petBody is a valid NewPet of about 1 KB.
var petBody = func() []byte {
	tags := make([]map[string]any, 8)
	for i := range tags {
		tags[i] = map[string]any{"id": 1000 + i, "name": "tag-number-" + strings.Repeat("x", i)}
	}
	b, _ := json.Marshal(map[string]any{
		"id": 12345678, "name": "Rex the very good dog", "status": "available",
		"category": map[string]any{"id": 7, "name": "Dogs"},
		"photoUrls": []string{"https://example.com/photos/rex-1.jpg", "https://example.com/photos/rex-2.jpg",
			"https://example.com/photos/rex-3.jpg", "https://example.com/photos/rex-4.jpg"},
		"tags": tags, "weight": 23.5, "vaccinated": true, "birthDate": "2019-04-01",
		"notes": "Friendly, house-trained, likes long walks and chasing balls in the park on sunny days; " +
			"allergic to nothing known; answers to Rex and to Rexy; gets along with cats and small children.",
	})
	return b
}()

func compileBundle(tb testing.TB, path string) *bundle.Bundle {
	tb.Helper()
	b, ds, err := compiler.Compile(context.Background(), compiler.Options{Spec: path})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ds.Err(); err != nil {
		tb.Fatal(err)
	}
	return b
}

func gwcOperation(tb testing.TB, opts validate.Options, id string) *validate.Operation {
	b := compileBundle(tb, validateSpec(tb))
	v, err := validate.CompileOptions(b, opts)
	if err != nil {
		tb.Fatal(err)
	}
	for i, op := range b.Operations {
		if op.ID == id {
			return v.Operation(i)
		}
	}
	tb.Fatalf("no operation %s", id)
	return nil
}

type kinRoute struct {
	route  *routers.Route
	params map[string]string
}

func kinSetup(tb testing.TB, req *http.Request) kinRoute {
	doc, err := openapi3.NewLoader().LoadFromFile(validateSpec(tb))
	if err != nil {
		tb.Fatal(err)
	}
	// The route is built by hand: the lookup is not what is measured (and
	// kin's routers need gorilla/mux, which gwc does not depend on).
	item := doc.Paths.Find("/pets")
	return kinRoute{&routers.Route{Spec: doc, Path: "/pets", PathItem: item, Method: req.Method,
		Operation: item.GetOperation(req.Method)}, map[string]string{}}
}

func (k kinRoute) validate(req *http.Request) error {
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: k.params, Route: k.route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

// TestValidateAgreesWithKin checks that gwc and kin-openapi accept the
// benchmark requests and reject a broken body.
func TestValidateAgreesWithKin(t *testing.T) {
	k := kinSetup(t, httptest.NewRequest("POST", "/pets", nil))
	for _, tt := range []struct {
		name     string
		body     string
		valid    bool
		kinValid bool // kin-openapi decodes numbers to float64: int64 overflow passes
	}{
		{"1 KB pet", string(petBody), true, true},
		{"bad tag", strings.Replace(string(petBody), "tag-number-", "Tag Number ", 1), false, false},
		{"no name", `{"photoUrls":[]}`, false, false},
		{"int64 overflow", `{"name":"a","photoUrls":[],"id":9223372036854775808}`, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/pets", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if err := k.validate(req); (err == nil) != tt.kinValid {
				t.Errorf("kin: %v", err)
			}
			for _, opts := range []validate.Options{{}, {NoFastPath: true}} {
				_, e := gwcOperation(t, opts, "addPet").Body("application/json", strings.NewReader(tt.body), 0)
				if (e == nil) != tt.valid {
					t.Errorf("gwc %+v: %v", opts, e)
				}
			}
		})
	}
}

func benchmarkGWCBody(b *testing.B, opts validate.Options) {
	op := gwcOperation(b, opts, "addPet")
	r := bytes.NewReader(petBody)
	b.SetBytes(int64(len(petBody)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(petBody)
		if _, e := op.Body("application/json", r, 0); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkValidateBodyGWC is gwc's body validation (fast path), reading the
// body included.
func BenchmarkValidateBodyGWC(b *testing.B) { benchmarkGWCBody(b, validate.Options{}) }

// BenchmarkValidateBodyBytesGWC is BenchmarkValidateBodyGWC without the
// read: the body already in memory (Operation.BodyBytes).
func BenchmarkValidateBodyBytesGWC(b *testing.B) {
	op := gwcOperation(b, validate.Options{}, "addPet")
	b.SetBytes(int64(len(petBody)))
	b.ReportAllocs()
	for b.Loop() {
		if e := op.BodyBytes("application/json", petBody); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkValidateBodyStraightforward is the strict full decode into any
// (jsontext, refusing what is not RFC 8259 text), then
// santhosh-tekuri/jsonschema: gwc without its fast path.
func BenchmarkValidateBodyStraightforward(b *testing.B) {
	benchmarkGWCBody(b, validate.Options{NoFastPath: true})
}

// BenchmarkValidateBodyKin is kin-openapi's ValidateRequest on the same
// request, the route found beforehand.
func BenchmarkValidateBodyKin(b *testing.B) {
	req := httptest.NewRequest("POST", "/pets", bytes.NewReader(petBody))
	req.Header.Set("Content-Type", "application/json")
	k := kinSetup(b, req)
	r := bytes.NewReader(petBody)
	b.SetBytes(int64(len(petBody)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(petBody)
		req.Body = http.NoBody
		req.Body = readCloser{r}
		if err := k.validate(req); err != nil {
			b.Fatal(err)
		}
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

type gwcRequest struct{ r *http.Request }

func (g gwcRequest) PathValue(name string) string { return g.r.PathValue(name) }
func (g gwcRequest) RawQuery() string             { return g.r.URL.RawQuery }
func (g gwcRequest) Header(name string) []string  { return g.r.Header.Values(name) }

// BenchmarkValidateQueryGWC is gwc on a GET with two query parameters.
func BenchmarkValidateQueryGWC(b *testing.B) {
	op := gwcOperation(b, validate.Options{}, "listPets")
	req := gwcRequest{httptest.NewRequest("GET", "/pets?limit=20&tag=friendly", nil)}
	b.ReportAllocs()
	for b.Loop() {
		if e := op.Params(req); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkValidateQueryKin is kin-openapi on the same GET.
func BenchmarkValidateQueryKin(b *testing.B) {
	req := httptest.NewRequest("GET", "/pets?limit=20&tag=friendly", nil)
	k := kinSetup(b, req)
	b.ReportAllocs()
	for b.Loop() {
		if err := k.validate(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidatorsCompile{OpenAI,Twilio} is the validator half of a
// bundle load: compiling every operation's schemas (DESIGN §7: the whole
// load ≤ 50 ms).
func BenchmarkValidatorsCompileOpenAI(b *testing.B) { benchmarkValidatorsCompile(b, testcorpus.OpenAI) }
func BenchmarkValidatorsCompileTwilio(b *testing.B) {
	benchmarkValidatorsCompile(b, testcorpus.TwilioAPI)
}

func benchmarkValidatorsCompile(b *testing.B, name string) {
	data := build(b, testcorpus.Path(b, name))
	bun, _, err := bundle.Decode(data, bundle.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := validate.Compile(bun); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateOrderBytesGWC validates bench/proxy.sh's 1 KB POST body
// (bench/testdata/proxy.yaml's Order: eleven items of five typed, bounded
// properties) in memory, as gwc serve does once the body is read.
func BenchmarkValidateOrderBytesGWC(b *testing.B) {
	spec, err := os.ReadFile("testdata/proxy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "proxy.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(spec), "UPSTREAM_ADDR", "127.0.0.1:1")), 0o644); err != nil {
		b.Fatal(err)
	}
	bun := compileBundle(b, path)
	v, err := validate.Compile(bun)
	if err != nil {
		b.Fatal(err)
	}
	var op *validate.Operation
	for i, o := range bun.Operations {
		if o.ID == "order" {
			op = v.Operation(i)
		}
	}
	if e := op.BodyBytes("application/json", orderBody); e != nil {
		b.Fatal(e)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(orderBody)))
	for b.Loop() {
		if e := op.BodyBytes("application/json", orderBody); e != nil {
			b.Fatal(e)
		}
	}
}
