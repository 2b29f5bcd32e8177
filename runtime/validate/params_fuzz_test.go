package validate

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// fuzzParams are parameters of every location, style and explode gwc
// decodes, with schemas of every type that decoding depends on.
var fuzzParams = []bundle.Param{
	// Path parameters, filled from the fuzzed path's segments in this order.
	{Name: "id", In: "path", Required: true, Style: "simple", Type: "integer", Schema: json.RawMessage(`{"type":"integer","minimum":1,"format":"int64"}`)},
	{Name: "lbl", In: "path", Required: true, Style: "label", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"integer"},"maxItems":3}`)},
	{Name: "mx", In: "path", Required: true, Style: "matrix", Explode: true, Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"number","maximum":10}}`)},
	{Name: "obj", In: "path", Required: true, Style: "simple", Explode: true, Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"}}}`)},
	{Name: "mo", In: "path", Required: true, Style: "matrix", Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string","maxLength":3}}`)},
	{Name: "ll", In: "path", Required: true, Style: "label", Explode: true, Type: "object", Schema: json.RawMessage(`{"$ref":"#/$defs/Point"}`)},
	{Name: "day", In: "path", Required: true, Style: "matrix", Type: "string", Schema: json.RawMessage(`{"type":"string","format":"date"}`)},
	{Name: "n", In: "path", Required: true, Style: "label", Type: "integer", Schema: json.RawMessage(`{"type":"integer","multipleOf":3}`)},
	{Name: "mxo", In: "path", Required: true, Style: "matrix", Explode: true, Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"number"}},"additionalProperties":false}`)},
	// Query parameters.
	{Name: "limit", In: "query", Style: "form", Explode: true, Type: "integer", Schema: json.RawMessage(`{"type":"integer","format":"int32","maximum":100}`)},
	{Name: "price", In: "query", Style: "form", Explode: true, Type: "number", Schema: json.RawMessage(`{"type":"number","exclusiveMinimum":0,"multipleOf":0.01}`)},
	{Name: "flag", In: "query", Style: "form", Explode: true, Type: "boolean", Schema: json.RawMessage(`{"type":"boolean"}`)},
	{Name: "at", In: "query", Style: "form", Explode: true, Type: "string", Schema: json.RawMessage(`{"type":"string","format":"date-time"}`)},
	{Name: "ids", In: "query", Style: "form", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"integer"},"maxItems":3}`)},
	{Name: "tags", In: "query", Style: "form", Explode: true, Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"enum":["a","b"]},"uniqueItems":true}`)},
	{Name: "sp", In: "query", Style: "spaceDelimited", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"string","pattern":"^[a-z]+$"}}`)},
	{Name: "pp", In: "query", Style: "pipeDelimited", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":["number","null"]}}`)},
	{Name: "filter", In: "query", Style: "deepObject", Explode: true, Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"min":{"type":"number"},"max":{"type":"integer"}},"additionalProperties":false}`)},
	{Name: "point", In: "query", Style: "form", Explode: true, Type: "object", Schema: json.RawMessage(`{"$ref":"#/$defs/Point"}`)},
	{Name: "pt", In: "query", Style: "form", Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}`)},
	{Name: "opt", In: "query", Style: "form", Explode: true, Schema: json.RawMessage(`{"anyOf":[{"type":"integer"},{"type":"null"}]}`)},
	{Name: "meta", In: "query", Style: "deepObject", Explode: true, Schema: json.RawMessage(`{"anyOf":[{"type":"object","additionalProperties":{"type":"string"}},{"type":"null"}]}`)},
	{Name: "doc", In: "query", Style: "form", Explode: true, ContentType: "application/json", Schema: json.RawMessage(`{"type":"object","required":["k"]}`)},
	{Name: "free", In: "query", Style: "form", Explode: true, Schema: json.RawMessage(`{}`)},
	{Name: "raw", In: "query", Style: "form", Explode: true},
	{Name: "txt", In: "query", Style: "form", Explode: true, ContentType: "text/plain", Schema: json.RawMessage(`{"type":"string","maxLength":3}`)},
	{Name: "aids", In: "query", Style: "pipeDelimited", Schema: json.RawMessage(`{"oneOf":[{"type":"array","items":{"type":"integer"}},{"type":"null"}]}`)},
	// Header parameters: the fuzzed header text's lines, in this order.
	{Name: "X-Flag", In: "header", Required: true, Style: "simple", Type: "boolean", Schema: json.RawMessage(`{"type":"boolean"}`)},
	{Name: "X-Rate", In: "header", Style: "simple", Type: "number", Schema: json.RawMessage(`{"type":"number","format":"float"}`)},
	{Name: "X-List", In: "header", Style: "simple", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"integer"},"minItems":2}`)},
	{Name: "X-Obj", In: "header", Style: "simple", Explode: true, Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)},
	// Cookie parameters, read from the fuzzed Cookie header.
	{Name: "session", In: "cookie", Required: true, Style: "form", Explode: true, Type: "string", Schema: json.RawMessage(`{"type":"string","pattern":"^s[0-9]+$"}`)},
	{Name: "cids", In: "cookie", Style: "form", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"integer"}}`)},
	{Name: "n", In: "cookie", Style: "form", Explode: true, Type: "integer", Schema: json.RawMessage(`{"type":"integer","minimum":0}`)},
}

var fuzzDefs = map[string]json.RawMessage{
	"Point": json.RawMessage(`{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}},"required":["x"]}`),
}

// fuzzOperations compiles the fuzzed operation twice: with the fast path,
// and with santhosh-tekuri/jsonschema only.
func fuzzOperations(tb testing.TB) (fast, slow *Operation) {
	tb.Helper()
	b := &bundle.Bundle{Defs: fuzzDefs, Operations: []bundle.Operation{{ID: "fuzz", Params: fuzzParams}}}
	var ops [2]*Operation
	for i, opts := range []Options{{Eager: true}, {Eager: true, NoFastPath: true}} {
		v, err := CompileOptions(b, opts)
		if err != nil {
			tb.Fatal(err)
		}
		ops[i] = v.Operation(0)
	}
	return ops[0], ops[1]
}

// fuzzRequest builds the request of one fuzz input: the path's segments are
// the path parameters' values (in fuzzParams order; missing ones are
// empty), the header text's lines are the values of X-Flag, X-Rate, X-List
// and X-Obj (further lines add values to X-Rate and X-List in turn, which
// Params joins with ","), and the cookie text's lines are Cookie header
// lines.
func fuzzRequest(path, query, header, cookie string) *req {
	r := &req{path: map[string]string{}, query: query, header: http.Header{}}
	segs := strings.Split(path, "/")
	i := 0
	for _, p := range fuzzParams {
		if p.In == "path" {
			if i < len(segs) {
				r.path[p.Name] = segs[i]
			}
			i++
		}
	}
	if header != "" {
		names := []string{"X-Flag", "X-Rate", "X-List", "X-Obj"}
		for j, line := range strings.Split(header, "\n") {
			name := names[1+j%2]
			if j < len(names) {
				name = names[j]
			}
			r.header[name] = append(r.header[name], line)
		}
	}
	if cookie != "" {
		r.header["Cookie"] = strings.Split(cookie, "\n")
	}
	return r
}

// paramsSeeds are FuzzParams' seed inputs (path, query, header, cookie, as
// fuzzRequest reads them), with the pointers Params reports on each, so that
// the seeds are known to reach both answers of every location.
var paramsSeeds = []struct {
	in   [4]string
	want string
}{
	// Valid: every style at once, then the least a request can carry.
	{[4]string{"7/.1,2/;mx=1;mx=2.5/a=1,b=true/;mo=a,1,b,xyz/.x=1.y=2/;day=2024-02-29/.3/;a=1.5",
		"limit=10&price=1.25&flag=false&at=2024-01-01T10:00:00Z&ids=1,2,3&tags=a&tags=b&sp=ab%20cd&pp=1|2.5|&filter[min]=1.5&filter[max]=3&x=1&y=2&pt=x,4&opt=&meta[k]=v&doc=%7B%22k%22%3A1%7D&free=anything&raw=x&txt=abc&aids=1|2",
		"true\n1.5\n1,2\nn=3", "session=s1; cids=1,2; n=0"}, ""},
	{[4]string{"1/.1/;mx=1/a=1/;mo=a,1/.x=1/;day=2024-01-01/.0/;a=0", "", "false", "session=s0"}, ""},
	{[4]string{"%31/.1,%32/;mx=1/a=1/;mo=a,1/.x=%31/;day=2024-01-01/.0/;a=0", "l%69mit=1%30&opt=&x=1", "true", `session="s1"`}, ""},
	// Invalid, one location at a time.
	{[4]string{"0/.1,x/;mx=11/a=x/;mo=a,b/.y=2/;day=2023-02-29/.4/;b=1", "", "true", "session=s1"},
		"/path/id /path/lbl/1 /path/mx/0 /path/obj/a /path/mo/a /path/ll /path/day /path/n /path/mxo"},
	{[4]string{"9223372036854775808/.1/;mx=1/a=1/;mo=a,1/.x=1/;day=2024-01-01/.0/;a=0",
		"limit=2147483648&price=0&flag=yes&at=2024-13-01&ids=1,2,3,4&tags=a&tags=a&sp=AB&pp=x", "true", "session=s1"},
		"/path/id /query/limit /query/price /query/flag /query/at /query/ids /query/tags /query/sp/0 /query/pp/0"},
	{[4]string{"1/.1/;mx=1/a=1/;mo=a,1/.x=1/;day=2024-01-01/.0/;a=0", "filter[other]=1&filter[min]=x&pt=y,1&doc=%7B&opt=x&meta[k]=1&txt=abcd&aids=1|x",
		"maybe\n1e39\n1\nn\n2", "session=x1; n=-1"},
		"/query/filter /query/filter/min /query/pt /query/opt /query/doc /query/txt /query/aids /header/X-Flag /header/X-Rate /header/X-List /header/X-Obj/n /cookie/session /cookie/n"},
	{[4]string{"1/.1/;mx=1/a=1/;mo=a,1/.x=1/;day=2024-01-01/.0/;a=0", "ids=&tags=&pt=&x=", "true\n\n\n", "session=s1; cids=,"},
		"/query/ids/0 /query/tags/0 /query/point/x /query/pt /header/X-Rate /header/X-List /header/X-List/0 /header/X-Obj /cookie/cids/0 /cookie/cids/1"},
	{[4]string{"", "", "", ""},
		"/path/id /path/lbl/0 /path/mx/0 /path/ll /path/day /path/n /path/mxo /header/X-Flag /cookie/session"},
	// Odd encodings: bad escapes, stray separators, non-UTF-8, numbers too
	// big to validate (see hugeNumber).
	{[4]string{"%zz/.%/;/=/;mo=/./;day=/./;", "%=%&&=&limit=%&limit=1&filter[=1&filter]=2&[min]=3&pp=|||", "true\nx\n,,\n=,=", "session; =s1;;session=s2"},
		"/path/id /path/lbl/0 /path/mx/0 /path/ll /path/day /path/n /path/mxo /query/limit /header/X-Rate /header/X-List/0 /header/X-List/1 /header/X-List/2 /header/X-Obj /cookie/session"},
	{[4]string{"\xff/.\xfe,1/;mx=\xc0/\x00=1/;mo=\xff,1/.x=\xff/;day=\xff/.\xff/;a=\xff", "at=\xff&sp=%ff&doc=%22%5Cud800%22&free=%00", "\xff\n\xff", "session=s\xff"},
		"/path/id /path/lbl/0 /path/mx/0 /path/ll/x /path/day /path/n /path/mxo/a /query/at /query/sp/0 /query/doc /header/X-Flag /header/X-Rate /cookie/session"},
	{[4]string{"1e10000000/.1e400/;mx=-0/a=1e10000000/;mo=a,1.0/.x=1E2/;day=0/.3e1000/;a=1e-1000", "limit=1e2&price=1e-400&pp=1e10000000&opt=1e10000000",
		"true\n-0\n1,1e10000000", "session=s1; n=1e10000000"},
		"/path/id /path/obj/a /path/day /query/price /query/pp/0 /query/opt /header/X-List/1 /cookie/n"},
}

// TestParamsSeeds pins what Params answers on FuzzParams' seeds.
func TestParamsSeeds(t *testing.T) {
	fast, _ := fuzzOperations(t)
	for i, s := range paramsSeeds {
		e := fast.Params(fuzzRequest(s.in[0], s.in[1], s.in[2], s.in[3]))
		if got := pointers(e); got != s.want {
			t.Errorf("seed %d: failing %q, want %q (%v)", i, got, s.want, e)
		}
	}
}

// FuzzParams decodes and validates fuzzed path values, query strings,
// headers and cookies. It asserts that validation never panics or hangs,
// answers the same twice, answers as santhosh alone does (without the fast
// path), and that every parameter it accepts santhosh accepts too, on the
// value decoding made of it, while every parameter it rejects is missing or
// rejected by santhosh.
func FuzzParams(f *testing.F) {
	for _, s := range paramsSeeds {
		f.Add(s.in[0], s.in[1], s.in[2], s.in[3])
	}
	fast, slow := fuzzOperations(f)
	f.Fuzz(func(t *testing.T, path, query, header, cookie string) {
		r := fuzzRequest(path, query, header, cookie)
		e := paramsWithin(t, fast, r, 10*time.Second)
		if again := fast.Params(r); !reflect.DeepEqual(e, again) {
			t.Fatalf("two answers for the same request: %v, then %v", e, again)
		}
		if s := slow.Params(r); !reflect.DeepEqual(e, s) {
			t.Fatalf("fast path answers %v, santhosh alone %v", e, s)
		}
		if e != nil {
			if e.Status != http.StatusBadRequest || len(e.Errors) == 0 {
				t.Fatalf("want a 400 naming fields, got %+v", e)
			}
			var doc map[string]any
			if err := json.Unmarshal(e.Problem(), &doc); err != nil {
				t.Fatalf("problem is not JSON: %v: %s", err, e.Problem())
			}
		}
		checkDecoded(t, fast, r, e)
	})
}

// paramsWithin is op.Params, failing the test when it takes longer than d:
// a fuzz input that makes decoding loop must be reported, not stall the
// fuzzer.
func paramsWithin(t *testing.T, op *Operation, r Request, d time.Duration) *Error {
	t.Helper()
	done := make(chan *Error, 1)
	go func() { done <- op.Params(r) }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case e := <-done:
		return e
	case <-timer.C:
		t.Fatalf("Params took more than %v", d)
		return nil
	}
}

// checkDecoded decodes each parameter as Params does and checks the answer
// e against santhosh's on the decoded value.
func checkDecoded(t *testing.T, op *Operation, r Request, e *Error) {
	t.Helper()
	var errs []FieldError
	if e != nil {
		errs = e.Errors
	}
	for i := range op.params {
		p := &op.params[i]
		var failing []FieldError
		for _, fe := range errs {
			if fe.Pointer == p.pointer || strings.HasPrefix(fe.Pointer, p.pointer+"/") {
				failing = append(failing, fe)
			}
		}
		v, present, wellFormed := decoded(p, r)
		switch {
		case p.schema == nil:
			// No schema: anything present passes.
			if present && len(failing) > 0 {
				t.Fatalf("%s has no schema, but failed: %v", p.pointer, failing)
			}
		case !present:
			if p.Required != (len(failing) == 1 && strings.HasPrefix(failing[0].Detail, "missing required")) {
				t.Fatalf("%s absent (required %v): errors %v", p.pointer, p.Required, failing)
			}
		case !wellFormed:
			if len(failing) == 0 {
				t.Fatalf("%s: malformed JSON accepted", p.pointer)
			}
		case len(failing) == 0:
			if err := p.schema.safeValidate(v); err != nil {
				t.Fatalf("%s: accepted, but santhosh rejects the decoded value %#v: %v", p.pointer, v, err)
			}
		default:
			if err := p.schema.safeValidate(v); err == nil {
				t.Fatalf("%s: rejected (%v), but santhosh accepts the decoded value %#v", p.pointer, failing, v)
			}
		}
	}
}

// decoded returns the value Params validates for p: its structure, or its
// text coerced by the schema's types, or for a content parameter its text,
// parsed when the content is JSON (wellFormed false when it is not JSON).
func decoded(p *param, r Request) (v any, present, wellFormed bool) {
	if p.kind == "array" || p.kind == "object" {
		v, present = p.structured(r)
		return v, present, true
	}
	s, present := p.scalar(r)
	if !present {
		return nil, false, true
	}
	switch {
	case p.ContentType != "" && isJSONType(p.ContentType):
		v, err := decodeJSON([]byte(s))
		return v, true, err == nil
	case p.ContentType != "" || p.schema == nil:
		return s, true, true
	}
	return coerce(s, p.schema.shape.types), true, true
}
