package conformance

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/router"
	"github.com/gwcdev/gwc/runtime/validate"
)

// diffSpecs are the corpus specs the differential test runs on, with the
// least number of requests it must compare on each (in -short mode, a
// quarter), so that a generator that silently stops producing requests
// fails the test instead of passing it vacuously.
var diffSpecs = []struct {
	name        string
	minCompared int
}{
	{testcorpus.TwilioAPI, 2000},
	{testcorpus.OpenAI, 2000},
	{testcorpus.PetstoreExp, 20},
	{testcorpus.APIExamples, 2},
	{testcorpus.TwilioStudio, 150},
	{testcorpus.USPTO, 12},
	{testcorpus.DigitalOcean, 3000},
}

// diffSeed seeds the request generator: the same seed gives the same
// requests, so that a disagreement can be replayed and the table of known
// differences stays valid.
const diffSeed = 2010

// kinOptions are the kin-openapi options that make its decisions
// comparable with gwc's validator: security is not validated by
// runtime/validate (the gateway authenticates before), and defaults are
// not written into the request (gwc does not rewrite requests, and writing
// them could only change a decision when a default is itself invalid).
var kinOptions = openapi3filter.Options{
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	SkipSettingDefaults: true,
	ExcludeResponseBody: true,
}

// knownDifference is a class of requests on which gwc and kin-openapi are
// known to decide differently, with the reason, an exact request showing
// it (replayed by the test, so that an entry that no longer holds is
// noticed), and which generated requests it covers.
type knownDifference struct {
	name       string
	reason     string
	gwcAccepts bool // gwc's decision; kin-openapi's is the other
	spec       string
	example    example
	match      func(c *testCase) bool
}

// example is a request as testCase.String prints it, with the labels the
// generator would give it (see testCase).
type example struct {
	kind, where, value string
	request            string
}

// knownDifferences is the table of documented differences, summarised in
// docs/validation.md. A disagreement no entry matches fails the test; an
// entry's matcher applies to every spec, its example to its own.
var knownDifferences = []knownDifference{
	{
		name:       "kin-untyped-form-field",
		reason:     "kin-openapi decodes a form or multipart field whose schema has no type (only anyOf/oneOf, or only a description) to null, then rejects it as not nullable",
		gwcAccepts: true,
		spec:       testcorpus.TwilioAPI,
		example: example{kind: "valid", request: "POST /2010-04-01/Accounts/AC00000000000000000000000000000000/Calls/CA00000000000000000000000000000000/Payments.json\n" +
			"Content-Type: application/x-www-form-urlencoded\n\n" +
			"IdempotencyKey=k1&StatusCallback=https%3A%2F%2Fexample.com%2Fpay&Parameter=%7B%22a%22%3A1%7D"},
		match: func(c *testCase) bool { return len(c.untyped) > 0 },
	},
	{
		name:       "kin-no-sdp-decoder",
		reason:     "kin-openapi has no body decoder for application/sdp, as a body or as a multipart part, and rejects it; gwc validates such a body as a string",
		gwcAccepts: true,
		spec:       testcorpus.OpenAI,
		example:    example{kind: "valid", request: "POST /v1/realtime/calls\nContent-Type: application/sdp\n\nv=0"},
		match: func(c *testCase) bool {
			return strings.HasPrefix(c.header.Get("Content-Type"), "application/sdp") || bytes.Contains(c.body, []byte("Content-Type: application/sdp"))
		},
	},
	{
		name:       "kin-integer-strconv",
		reason:     `kin-openapi reads integer parameters with strconv.ParseInt, which takes "+1" and "01"; gwc reads them as JSON numbers, which have no plus sign or leading zero`,
		gwcAccepts: false,
		spec:       testcorpus.PetstoreExp,
		example:    example{kind: "lexical", where: "/query/limit", value: "01", request: "GET /v2/pets?limit=01"},
		match: func(c *testCase) bool {
			return c.kind == "lexical" && (strings.HasPrefix(c.value, "+") || len(c.value) > 1 && c.value[0] == '0' && c.value[1] >= '0' && c.value[1] <= '9')
		},
	},
	{
		name:       "kin-integer-not-json",
		reason:     `kin-openapi's strconv.ParseInt rejects "1.0", "1e0" and "1e400" for an integer parameter; JSON Schema counts every number with an integral value as an integer, and gwc validates parameters as JSON Schema does`,
		gwcAccepts: true,
		spec:       testcorpus.PetstoreExp,
		example:    example{kind: "lexical", where: "/query/limit", value: "1.0", request: "GET /v2/pets?limit=1.0"},
		match: func(c *testCase) bool {
			return c.kind == "lexical" && (strings.HasSuffix(c.value, ".0") || strings.HasSuffix(c.value, "e0") || strings.HasSuffix(c.value, "e400"))
		},
	},
	{
		name:       "kin-boolean-strconv",
		reason:     `kin-openapi reads boolean parameters with strconv.ParseBool, which takes "1", "t", "TRUE" and "False"; gwc takes the JSON literals true and false only`,
		gwcAccepts: false,
		spec:       testcorpus.TwilioAPI,
		example: example{kind: "lexical", where: "/query/Beta", value: "1",
			request: "GET /2010-04-01/Accounts/AC00000000000000000000000000000000/IncomingPhoneNumbers.json?Beta=1"},
		match: func(c *testCase) bool {
			return c.kind == "lexical" && slices.Contains([]string{"1", "0", "t", "f", "T", "F", "TRUE", "FALSE", "True", "False"}, c.value)
		},
	},
	{
		name:       "kin-int64-float64",
		reason:     "kin-openapi decodes JSON numbers to float64, so 9223372036854775808 (2^63) passes format int64 there; gwc checks the number's literal",
		gwcAccepts: false,
		spec:       testcorpus.OpenAI,
		example: example{kind: "format", where: "/body/seed", value: "9223372036854775808",
			request: "POST /v1/completions\nContent-Type: application/json\n\n" + `{"model":"m","prompt":"p","seed":9223372036854775808}`},
		match: func(c *testCase) bool { return c.kind == "format" && c.value == "9223372036854775808" },
	},
	{
		name:       "kin-recursive-ref",
		reason:     "kin-openapi ignores $recursiveRef (2019-09), so the oneOf member of OpenAI's CompoundFilter that uses it accepts anything; gwc lowers it to a reference to the enclosing schema",
		gwcAccepts: false,
		spec:       testcorpus.OpenAI,
		example: example{kind: "type", where: "/body/filters/filters/0", value: "text",
			request: "POST /v1/vector_stores/vs_1/search\nContent-Type: application/json\n\n" + `{"query":"q","filters":{"type":"and","filters":["text"]}}`},
		match: func(c *testCase) bool {
			return c.opID == "searchVectorStore" && strings.HasPrefix(c.where, "/body/filters/filters/")
		},
	},
}

// TestDifferentialKin generates requests from the corpus specs' schemas,
// valid and mutated, and checks that gwc's validator accepts exactly those
// kin-openapi's openapi3filter.ValidateRequest accepts, except for the
// documented knownDifferences.
func TestDifferentialKin(t *testing.T) {
	for _, spec := range diffSpecs {
		t.Run(spec.name, func(t *testing.T) {
			d := newDifferential(t, spec.name)
			maxMutants := 24
			minCompared := spec.minCompared
			if testing.Short() {
				maxMutants, minCompared = 6, spec.minCompared/4
			}
			g := newSchemaGen(d.bundle, diffSeed)
			var st stats
			inputs := false
			for i := range d.bundle.Operations {
				if d.templates[i] == "" {
					continue
				}
				op := &d.bundle.Operations[i]
				inputs = inputs || len(op.Params) > 0 || op.Body != nil
				for _, c := range g.operationCases(d.bundle, i, d.templates[i], maxMutants) {
					d.compare(t, &c, &st)
				}
			}
			d.replayExamples(t)
			t.Logf("%d requests compared: gwc accepted %d, rejected %d; kin-openapi accepted %d, rejected %d; %d known differences %v",
				st.compared, st.gwcAccepted, st.compared-st.gwcAccepted, st.kinAccepted, st.compared-st.kinAccepted, st.known, st.byDifference)
			t.Logf("accepted by gwc per kind of request: %s", st.kinds())
			if st.compared < minCompared {
				t.Errorf("only %d requests compared, want at least %d", st.compared, minCompared)
			}
			// A spec without any parameter or body (api-with-examples) has
			// nothing to reject; every other spec must see both decisions
			// from both validators, or the comparison proves little.
			if inputs && (st.gwcAccepted == 0 || st.gwcAccepted == st.compared || st.kinAccepted == 0 || st.kinAccepted == st.compared) {
				t.Errorf("want both accepted and rejected requests from each validator")
			}
			if !inputs && st.gwcAccepted != st.compared {
				t.Errorf("a spec without inputs: gwc rejected %d requests", st.compared-st.gwcAccepted)
			}
		})
	}
}

type stats struct {
	compared, gwcAccepted, kinAccepted, known int
	byDifference                              map[string]int
	// byKind counts requests per kind: compared, accepted by gwc.
	byKind map[string]*[2]int
}

// kinds formats byKind as "kind=accepted/compared", sorted.
func (st *stats) kinds() string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(st.byKind)) {
		out = append(out, fmt.Sprintf("%s=%d/%d", k, st.byKind[k][1], st.byKind[k][0]))
	}
	return strings.Join(out, " ")
}

// differential holds one spec compiled by gwc and loaded by kin-openapi.
type differential struct {
	spec       string
	bundle     *bundle.Bundle
	validators *validate.Validators
	router     *router.Router
	templates  []string // route template per operation, base path included
	kinRoutes  []*routers.Route
}

func newDifferential(t *testing.T, name string) *differential {
	t.Helper()
	path := testcorpus.Path(t, name)
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		// DigitalOcean's spec uses Redocly-style references (a $ref where
		// OpenAPI allows none, such as a tag's description), which gwc
		// resolves and kin-openapi refuses.
		t.Skipf("kin-openapi cannot load %s, so there is nothing to compare with: %v", name, err)
	}
	b, ds, err := compiler.Compile(context.Background(), compiler.Options{Spec: path})
	if err != nil || ds.Err() != nil {
		t.Fatal(err, ds.Err())
	}
	v, err := validate.CompileOptions(b, validate.Options{Eager: true})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(b.Routes)
	if err != nil {
		t.Fatal(err)
	}
	d := &differential{spec: name, bundle: b, validators: v, router: rt,
		templates: make([]string, len(b.Operations)), kinRoutes: make([]*routers.Route, len(b.Operations))}
	// Operations the router leaves out (OpenAI's "/responses?beta=true"
	// templates, which no request path can match) get no template and no
	// requests.
	skipped := map[int]bool{}
	for _, s := range rt.Skipped() {
		skipped[s.Route.Operation] = true
	}
	for _, r := range b.Routes {
		if d.templates[r.Operation] == "" && !skipped[r.Operation] {
			d.templates[r.Operation] = r.Path
		}
	}
	// kin-openapi's route is made from the operation gwc routed to: its
	// legacy router refuses OpenAI's spec (doc.Validate rejects
	// $recursiveRef) and cannot route Twilio's "{Sid}.json" templates, and
	// its gorillamux router needs gorilla/mux, which gwc does not depend on.
	// Routing is not what is compared here; the path parameters kin-openapi
	// gets are the same values, percent-decoded (see kinPathParams).
	for i, op := range b.Operations {
		item := doc.Paths.Value(op.Path)
		if item == nil || item.GetOperation(op.Method) == nil {
			t.Fatalf("kin-openapi has no operation %s %s", op.Method, op.Path)
		}
		d.kinRoutes[i] = &routers.Route{Spec: doc, Path: op.Path, PathItem: item, Method: op.Method, Operation: item.GetOperation(op.Method)}
	}
	return d
}

// gwcRequest adapts an *http.Request and the router's path parameters to
// validate.Request.
type gwcRequest struct {
	r  *http.Request
	ps *router.Params
}

func (g gwcRequest) PathValue(name string) string { v, _ := g.ps.Get(name); return v }
func (g gwcRequest) RawQuery() string             { return g.r.URL.RawQuery }
func (g gwcRequest) Header(name string) []string  { return g.r.Header.Values(name) }

// verdict is what both validators decided on one request.
type verdict struct {
	op          int // the operation gwc routed the request to; -1 when none
	gwc, kin    error
	gwcAccepted bool
	kinAccepted bool
}

// judge routes c with gwc's router and validates it with both validators.
func (d *differential) judge(t *testing.T, c *testCase) verdict {
	t.Helper()
	rawPath, _, _ := strings.Cut(c.target, "?")
	norm, err := router.Normalize(rawPath)
	if err != nil {
		t.Fatalf("generated path %q does not normalise: %v", rawPath, err)
	}
	var ps router.Params
	op, res := d.router.Lookup(c.method, norm, &ps)
	if res != router.Found {
		return verdict{op: -1}
	}
	newRequest := func() *http.Request {
		r, err := http.NewRequest(c.method, "http://gwc.test"+c.target, bytes.NewReader(c.body))
		if err != nil {
			t.Fatalf("generated request %q: %v", c.target, err)
		}
		for k, vs := range c.header {
			r.Header[k] = slices.Clone(vs)
		}
		return r
	}
	var v verdict
	v.op = op
	gop := d.validators.Operation(op)
	r := newRequest()
	if e := gop.Params(gwcRequest{r, &ps}); e != nil {
		v.gwc = e
	} else if e := gop.BodyBytes(r.Header.Get("Content-Type"), c.body); e != nil {
		v.gwc = e
	}
	v.kin = kinValidate(newRequest(), d.kinRoutes[op], kinPathParams(&ps))
	v.gwcAccepted, v.kinAccepted = v.gwc == nil, v.kin == nil
	return v
}

// kinPathParams returns the router's path parameters percent-decoded, as
// kin-openapi's legacy router gives them (it matches the decoded URL.Path).
// Its decoders do not unescape path values themselves, so raw values would
// make "%20" a three-character string there and a space in gwc.
func kinPathParams(ps *router.Params) map[string]string {
	out := make(map[string]string, ps.Len())
	for i := range ps.Len() {
		v := ps.Value(i)
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		out[ps.Name(i)] = v
	}
	return out
}

// kinValidate runs openapi3filter.ValidateRequest, turning a panic into an
// error so that one bad request does not hide the others.
func kinValidate(r *http.Request, route *routers.Route, pathParams map[string]string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("kin-openapi panicked: %v", p)
		}
	}()
	opts := kinOptions
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: r, PathParams: pathParams, Route: route, Options: &opts,
	})
}

// compare judges one generated request and reports a disagreement no
// known difference explains.
func (d *differential) compare(t *testing.T, c *testCase, st *stats) {
	t.Helper()
	v := d.judge(t, c)
	if v.op != c.op {
		t.Errorf("generated request for %s routed to operation %d:\n%s", d.bundle.Operations[c.op].ID, v.op, c)
		return
	}
	st.compared++
	if st.byKind == nil {
		st.byKind = map[string]*[2]int{}
	}
	if st.byKind[c.kind] == nil {
		st.byKind[c.kind] = &[2]int{}
	}
	st.byKind[c.kind][0]++
	if v.gwcAccepted {
		st.gwcAccepted++
		st.byKind[c.kind][1]++
	}
	if v.kinAccepted {
		st.kinAccepted++
	}
	if v.gwcAccepted == v.kinAccepted {
		return
	}
	for _, k := range knownDifferences {
		if k.gwcAccepts == v.gwcAccepted && k.match(c) {
			st.known++
			if st.byDifference == nil {
				st.byDifference = map[string]int{}
			}
			st.byDifference[k.name]++
			return
		}
	}
	t.Errorf("%s (%s at %s = %q, untyped %v): gwc accepts=%v (%v), kin-openapi accepts=%v (%v), on:\n%s",
		d.bundle.Operations[c.op].ID, c.kind, c.where, c.value, c.untyped, v.gwcAccepted, v.gwc, v.kinAccepted, v.kin, c)
}

// replayExamples checks that the example request of each known difference
// of the spec still shows it.
func (d *differential) replayExamples(t *testing.T) {
	for _, k := range knownDifferences {
		if k.spec != d.spec {
			continue
		}
		c := d.parseExample(t, k.example)
		v := d.judge(t, c)
		if v.op < 0 {
			t.Errorf("known difference %q: the example does not route", k.name)
			continue
		}
		if v.gwcAccepted != k.gwcAccepts || v.kinAccepted == k.gwcAccepts {
			t.Errorf("known difference %q no longer shows: gwc accepts=%v (%v), kin-openapi accepts=%v (%v); update the table and docs/validation.md",
				k.name, v.gwcAccepted, v.gwc, v.kinAccepted, v.kin)
		}
		if !k.match(c) {
			t.Errorf("known difference %q: its matcher does not match its own example", k.name)
		}
	}
}

// parseExample reads an example request, written as testCase.String writes
// it, into the testCase the generator would have made.
func (d *differential) parseExample(t *testing.T, e example) *testCase {
	t.Helper()
	head, body, _ := strings.Cut(e.request, "\n\n")
	lines := strings.Split(head, "\n")
	method, target, ok := strings.Cut(lines[0], " ")
	if !ok {
		t.Fatalf("example %q: no request line", e.request)
	}
	c := &testCase{kind: e.kind, where: e.where, value: e.value, method: method, target: target, header: http.Header{}, body: []byte(body)}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("example %q: bad header line %q", e.request, l)
		}
		c.header.Add(k, v)
	}
	rawPath, _, _ := strings.Cut(target, "?")
	var ps router.Params
	if op, res := d.router.Lookup(method, rawPath, &ps); res == router.Found {
		c.op, c.opID = op, d.bundle.Operations[op].ID
		c.untyped = d.untyped(c)
	}
	return c
}

// untyped returns the fields of a form or multipart request body whose
// schema has no type, as operationCases records them.
func (d *differential) untyped(c *testCase) []string {
	body := d.bundle.Operations[c.op].Body
	mt, params, err := mime.ParseMediaType(c.header.Get("Content-Type"))
	if body == nil || err != nil {
		return nil
	}
	fields := map[string]any{}
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, _ := url.ParseQuery(string(c.body))
		for k := range vals {
			fields[k] = ""
		}
	case "multipart/form-data":
		r := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
		for p, err := r.NextPart(); err == nil; p, err = r.NextPart() {
			fields[p.FormName()] = ""
		}
	default:
		return nil
	}
	for _, m := range body.Content {
		if m.Type == mt {
			return newSchemaGen(d.bundle, 0).untypedFields(parse(m.Schema), fields)
		}
	}
	return nil
}
