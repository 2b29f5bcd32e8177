package validate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// req is a Request from literal parts.
type req struct {
	path   map[string]string
	query  string
	header http.Header
}

func (r *req) PathValue(name string) string { return r.path[name] }
func (r *req) RawQuery() string             { return r.query }
func (r *req) Header(name string) []string  { return r.header.Values(name) }

var defs = map[string]json.RawMessage{
	"Pet": json.RawMessage(`{"type":"object","required":["name"],"additionalProperties":false,"properties":{
		"name":{"type":"string","minLength":1,"maxLength":20},
		"tag":{"type":"string","enum":["cat","dog"]},
		"age":{"type":"integer","format":"int32","minimum":0},
		"born":{"type":"string","format":"date"},
		"toys":{"type":"array","maxItems":2,"items":{"$ref":"#/$defs/Toy"}}}}`),
	"Toy": json.RawMessage(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer","format":"int64"}}}`),
}

func testOperation(t *testing.T) *Operation {
	t.Helper()
	b := &bundle.Bundle{Defs: defs, Operations: []bundle.Operation{{
		ID: "addPet",
		Params: []bundle.Param{
			{Name: "id", In: "path", Required: true, Style: "simple", Type: "integer", Schema: json.RawMessage(`{"type":"integer","minimum":1}`)},
			{Name: "limit", In: "query", Style: "form", Explode: true, Type: "integer", Schema: json.RawMessage(`{"type":"integer","maximum":100}`)},
			{Name: "tags", In: "query", Style: "form", Explode: true, Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"string","enum":["a","b"]}}`)},
			{Name: "ids", In: "query", Style: "pipeDelimited", Type: "array", Schema: json.RawMessage(`{"type":"array","items":{"type":"integer"}}`)},
			{Name: "filter", In: "query", Style: "deepObject", Explode: true, Type: "object", Schema: json.RawMessage(`{"type":"object","properties":{"min":{"type":"number"}},"additionalProperties":false}`)},
			{Name: "X-Flag", In: "header", Required: true, Style: "simple", Type: "boolean", Schema: json.RawMessage(`{"type":"boolean"}`)},
			{Name: "session", In: "cookie", Style: "form", Explode: true, Schema: json.RawMessage(`{"type":"string","pattern":"^s[0-9]+$"}`)},
		},
		Body: &bundle.RequestBody{Required: true, Content: []bundle.MediaType{
			{Type: "application/*+json", Schema: json.RawMessage(`{"$ref":"#/$defs/Pet"}`)},
			{Type: "application/json", Schema: json.RawMessage(`{"$ref":"#/$defs/Pet"}`)},
			{Type: "application/x-www-form-urlencoded", Schema: json.RawMessage(`{"type":"object","required":["Name"],"properties":{
				"Name":{"type":"string"},"Count":{"type":"integer"},"On":{"type":"boolean"},"Events":{"type":"array","items":{"type":"string"}},
				"Csv":{"type":"array","items":{"type":"integer"}},"Meta":{"type":"object","required":["k"]}}}`),
				Encoding: []bundle.Encoding{{Name: "Csv", Style: "form", Explode: false}, {Name: "Meta", ContentType: "application/json"}}},
			{Type: "multipart/form-data", Schema: json.RawMessage(`{"type":"object","required":["file"],"properties":{"file":{"type":"string","format":"binary"},"n":{"type":"integer"}}}`)},
		}},
	}}}
	v, err := Compile(b)
	if err != nil {
		t.Fatal(err)
	}
	return v.Operation(0)
}

func pointers(e *Error) string {
	if e == nil {
		return ""
	}
	var ps []string
	for _, f := range e.Errors {
		ps = append(ps, f.Pointer)
	}
	return strings.Join(ps, " ")
}

func TestParams(t *testing.T) {
	op := testOperation(t)
	tests := []struct {
		name   string
		path   string
		query  string
		header http.Header
		want   string // failing pointers, space-separated
	}{
		{"valid", "7", "limit=10&tags=a&tags=b&ids=1|2&filter[min]=1.5", http.Header{"X-Flag": {"true"}, "Cookie": {"session=s12"}}, ""},
		{"minimal", "7", "", http.Header{"X-Flag": {"false"}}, ""},
		{"path not integer", "x", "", http.Header{"X-Flag": {"true"}}, "/path/id"},
		{"path below minimum", "0", "", http.Header{"X-Flag": {"true"}}, "/path/id"},
		{"query over maximum", "1", "limit=101", http.Header{"X-Flag": {"true"}}, "/query/limit"},
		{"query escaped", "1", "l%69mit=1%30", http.Header{"X-Flag": {"true"}}, ""},
		{"array item", "1", "tags=a&tags=c", http.Header{"X-Flag": {"true"}}, "/query/tags/1"},
		{"pipe item", "1", "ids=1|x", http.Header{"X-Flag": {"true"}}, "/query/ids/1"},
		{"deep object extra", "1", "filter[max]=3", http.Header{"X-Flag": {"true"}}, "/query/filter"},
		{"header missing", "1", "", http.Header{}, "/header/X-Flag"},
		{"header not boolean", "1", "", http.Header{"X-Flag": {"yes"}}, "/header/X-Flag"},
		{"cookie pattern", "1", "", http.Header{"X-Flag": {"true"}, "Cookie": {"a=b; session=x1"}}, "/cookie/session"},
		{"several", "0", "limit=x", http.Header{}, "/path/id /query/limit /header/X-Flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := op.Params(&req{path: map[string]string{"id": tt.path}, query: tt.query, header: tt.header})
			if got := pointers(e); got != tt.want {
				t.Errorf("failing %q, want %q (%v)", got, tt.want, e)
			}
			if e != nil && e.Status != 400 {
				t.Errorf("status %d", e.Status)
			}
		})
	}
}

// TestParamsTypedThroughAnyOf checks parameters whose schema has no single
// type, which the compiler gives no Param.Type (OpenAI's metadata filter is
// {"anyOf":[{"type":"object"},{"type":"null"}]}): they are decoded as the
// structure their schema allows, not as one scalar string. As scalars,
// "metadata=x" was rejected as not an object although form-exploded objects
// never carry their own name, while "k=x" and "filter[min]=x" were accepted
// without looking at them (found by internal/conformance's differential test).
func TestParamsTypedThroughAnyOf(t *testing.T) {
	orNull := func(s string) json.RawMessage { return json.RawMessage(`{"anyOf":[` + s + `,{"type":"null"}]}`) }
	b := &bundle.Bundle{Operations: []bundle.Operation{{ID: "list", Params: []bundle.Param{
		{Name: "metadata", In: "query", Style: "form", Explode: true, Schema: orNull(`{"type":"object","properties":{"k":{"type":"integer"}}}`)},
		{Name: "filter", In: "query", Style: "deepObject", Explode: true, Schema: orNull(`{"type":"object","properties":{"min":{"type":"number"}},"additionalProperties":false}`)},
		{Name: "ids", In: "query", Style: "form", Schema: orNull(`{"type":"array","items":{"type":"integer"}}`)},
		{Name: "X-Tags", In: "header", Style: "simple", Schema: orNull(`{"$ref":"#/$defs/Tags"}`)},
	}}}, Defs: map[string]json.RawMessage{"Tags": json.RawMessage(`{"type":"array","items":{"enum":["a","b"]}}`)}}
	v, err := CompileOptions(b, Options{Eager: true})
	if err != nil {
		t.Fatal(err)
	}
	op := v.Operation(0)
	for _, tt := range []struct {
		query  string
		header http.Header
		want   string
	}{
		{"metadata=12345", nil, ""},
		{"k=7", nil, ""},
		{"k=x", nil, "/query/metadata"}, // anyOf failures are reported at the parameter
		{"filter[min]=1.5", nil, ""},
		{"filter[min]=x", nil, "/query/filter"},
		{"filter[max]=1", nil, "/query/filter"},
		{"ids=1,2", nil, ""},
		{"ids=1,x", nil, "/query/ids"},
		{"", http.Header{"X-Tags": {"a,b"}}, ""},
		{"", http.Header{"X-Tags": {"a,c"}}, "/header/X-Tags"},
	} {
		t.Run(tt.query+strings.Join(tt.header["X-Tags"], ""), func(t *testing.T) {
			e := op.Params(&req{query: tt.query, header: tt.header})
			if got := pointers(e); got != tt.want {
				t.Errorf("failing %q, want %q (%v)", got, tt.want, e)
			}
		})
	}
}

func TestBody(t *testing.T) {
	op := testOperation(t)
	mp := "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n%s\r\n--XX--\r\n"
	tests := []struct {
		name, ct, body string
		limit          int64
		status         int
		want           string
	}{
		{"json valid", "application/json", `{"name":"Rex","tag":"dog","age":3,"born":"2020-01-31","toys":[{"id":1}]}`, 0, 0, ""},
		{"json charset", "Application/JSON; charset=utf-8", `{"name":"Rex"}`, 0, 0, ""},
		{"suffix range", "application/vnd.pet+json", `{"name":"Rex"}`, 0, 0, ""},
		{"json nested", "application/json", `{"name":"Rex","toys":[{"id":1},{"id":"x"}]}`, 0, 400, "/body/toys/1/id"},
		{"json several", "application/json", `{"name":"","tag":"cow","age":-1,"born":"2020-13-01","x":1}`, 0, 400, ""},
		{"json int32", "application/json", `{"name":"a","age":2147483648}`, 0, 400, "/body/age"},
		{"json required", "application/json", `{}`, 0, 400, "/body"},
		{"json malformed", "application/json", `{"name":`, 0, 400, "/body"},
		{"missing body", "application/json", ``, 0, 400, "/body"},
		{"undeclared type", "text/plain", `hi`, 0, 415, ""},
		{"no content type", "", `hi`, 0, 415, ""},
		{"over limit", "application/json", `{"name":"Rex"}`, 5, 413, ""},
		{"form valid", "application/x-www-form-urlencoded", `Name=a+b&Count=3&On=true&Events=x&Events=y&Csv=1,2&Meta=%7B%22k%22%3A1%7D`, 0, 0, ""},
		{"form invalid", "application/x-www-form-urlencoded", `Count=x&Csv=1,y&Meta=%7B%7D`, 0, 400, "/body /body/Count /body/Csv/1 /body/Meta"},
		{"multipart valid", "multipart/form-data; boundary=XX", fmtBody(mp, "4"), 0, 0, ""},
		{"multipart invalid", "multipart/form-data; boundary=XX", fmtBody(mp, "four"), 0, 400, "/body/n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := op.Body(tt.ct, strings.NewReader(tt.body), tt.limit)
			status := 0
			if e != nil {
				status = e.Status
			}
			if status != tt.status {
				t.Fatalf("status %d, want %d (%v)", status, tt.status, e)
			}
			if tt.want != "" {
				if got := pointers(e); !samePointers(got, tt.want) {
					t.Errorf("failing %q, want %q (%v)", got, tt.want, e)
				}
			}
			if e != nil {
				var doc map[string]any
				if err := json.Unmarshal(e.Problem(), &doc); err != nil || doc["status"] != float64(status) || doc["title"] == "" {
					t.Errorf("problem %s: %v", e.Problem(), err)
				}
			}
		})
	}
}

// TestErrorsDeterministic checks that a request failing on several fields
// gets its errors in the same order every time: santhosh visits properties
// in map order, and an answer that changes between identical requests
// breaks caches, golden tests and log searches (found by FuzzParams).
func TestErrorsDeterministic(t *testing.T) {
	op := testOperation(t)
	body := []byte(`{"name":"","tag":"cow","age":-1,"born":"x","toys":[{"id":"a"},{}]}`)
	want := "/body/age /body/born /body/name /body/tag /body/toys/0/id /body/toys/1"
	for range 20 {
		if got := pointers(op.BodyBytes("application/json", body)); got != want {
			t.Fatalf("failing %q, want %q", got, want)
		}
	}
	// santhosh also lists additional properties in map order.
	r := &req{path: map[string]string{"id": "0"}, query: "filter[min]=x&filter[max]=1&filter[avg]=2&filter[b]=3", header: http.Header{"X-Flag": {"true"}}}
	want = "the request is invalid (3 errors); /path/id: minimum: got 0, want 1; " +
		"/query/filter: additional properties 'avg', 'b', 'max' not allowed; /query/filter/min: got string, want number"
	for range 50 {
		if e := op.Params(r); e == nil || e.Error() != want {
			t.Fatalf("got %v, want %s", e, want)
		}
	}
}

// TestHugeNumbers checks that numbers math/big would take long to read are
// refused, where they are, before any check reads them: in a body (fast
// path and santhosh alike), in a parameter and in a form field.
func TestHugeNumbers(t *testing.T) {
	op := testOperation(t)
	tooLong := strings.Repeat("7", 1001)
	for _, tt := range []struct {
		body, want string
	}{
		{`{"name":"Rex","age":1e999999}`, "/body/age"},
		{`{"name":"Rex","age":1E+0001001}`, "/body/age"},
		{`{"name":"Rex","age":` + tooLong + `}`, "/body/age"},
		{`{"name":"Rex","toys":[{"id":1},{"id":-1e-99999}]}`, "/body/toys/1/id"},
		{`{"name":"Rex","age":1e1000}`, "/body/age"}, // in bounds: int32 says no
		{`{"name":"Rex","age":1.5e-1000}`, "/body/age"},
	} {
		e := op.BodyBytes("application/json", []byte(tt.body))
		if got := pointers(e); got != tt.want {
			t.Errorf("%.60s: failing %q, want %q (%v)", tt.body, got, tt.want, e)
		}
		if strings.Contains(tt.body, "e1000}") || strings.Contains(tt.body, "-1000}") {
			if e != nil && e.Errors[0].Detail == detailHugeNumber {
				t.Errorf("%s: in bounds, but refused as huge", tt.body)
			}
		} else if e == nil || e.Errors[0].Detail != detailHugeNumber {
			t.Errorf("%.60s: want %q, got %v", tt.body, detailHugeNumber, e)
		}
	}
	s, err := compileSchema([]byte(`{"type":"object"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, decided := s.ValidFast([]byte(`{"x":[1e999999]}`)); decided {
		t.Error("the fast path decided on a huge number, which santhosh refuses")
	}
	r := &req{path: map[string]string{"id": "1e999999"}, query: "limit=" + tooLong, header: http.Header{"X-Flag": {"true"}}}
	if got := pointers(op.Params(r)); got != "/path/id /query/limit" {
		t.Errorf("params: failing %q", got)
	}
	if got := pointers(op.BodyBytes("application/x-www-form-urlencoded", []byte("Name=a&Count=1e999999"))); got != "/body/Count" {
		t.Errorf("form: failing %q", got)
	}
	// Where a string is allowed too, such text stays the string it is.
	if v := coerce("1e999999", tString|tNumber); v != "1e999999" {
		t.Errorf("coerce to string or number: %#v", v)
	}
	if v := coerce("1e999", tString|tNumber); v != json.Number("1e999") {
		t.Errorf("coerce in bounds: %#v", v)
	}
}

func fmtBody(f, n string) string { return strings.Replace(f, "%s", n, 1) }

// samePointers compares space-separated pointer sets.
func samePointers(a, b string) bool {
	as, bs := strings.Fields(a), strings.Fields(b)
	set := map[string]bool{}
	for _, p := range as {
		set[p] = true
	}
	for _, p := range bs {
		if !set[p] {
			return false
		}
	}
	return len(bs) <= len(as)
}

func TestFormatsAsserted(t *testing.T) {
	tests := []struct {
		format, value string
		valid         bool
	}{
		{"byte", `"aGk="`, true}, {"byte", `"aGk"`, false},
		{"date", `"2024-02-29"`, true}, {"date", `"2023-02-29"`, false},
		{"date-time", `"2024-01-01T10:00:00Z"`, true}, {"date-time", `"2024-01-01"`, false},
		{"int32", `2147483647`, true}, {"int32", `2147483648`, false}, {"int32", `1e3`, true},
		{"int64", `9223372036854775808`, false}, {"float", `1e39`, false}, {"double", `1e308`, true},
		{"email", `"not an email"`, true}, {"uuid", `"x"`, true}, {"ipv4", `"x"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.value, func(t *testing.T) {
			s, err := compileSchema([]byte(`{"format":"` + tt.format + `"}`))
			if err != nil {
				t.Fatal(err)
			}
			v, _ := decodeJSON([]byte(tt.value))
			if got := s.safeValidate(v) == nil; got != tt.valid {
				t.Errorf("santhosh valid=%v, want %v", got, tt.valid)
			}
			if got := validateFast(s.fast, []byte(tt.value)); (got == ok) != tt.valid {
				t.Errorf("fast %v, want valid=%v", got, tt.valid)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	e := invalid([]FieldError{{Pointer: "/query/limit", Detail: "must be <= 100"}})
	want := `{"type":"about:blank","title":"Bad Request","status":400,"detail":"the request is invalid","errors":[{"pointer":"/query/limit","detail":"must be <= 100"}]}`
	if got := string(e.Problem()); got != want {
		t.Errorf("got %s", got)
	}
}

func TestParamsAllocs(t *testing.T) {
	op := testOperation(t)
	r := &req{path: map[string]string{"id": "7"}, query: "limit=10", header: http.Header{"X-Flag": {"true"}}}
	// Only the scalar params: drop the array/object ones.
	scalar := &Operation{printer: op.printer}
	for _, p := range op.params {
		if p.Type != "array" && p.Type != "object" {
			scalar.params = append(scalar.params, p)
		}
	}
	if e := scalar.Params(r); e != nil {
		t.Fatal(e)
	}
	if n := testing.AllocsPerRun(100, func() { scalar.Params(r) }); n != 0 {
		t.Errorf("%v allocs per run, want 0", n)
	}
	_ = url.Values{}
}

// lazyBundle has one body schema that compiles and one whose definition is
// missing, which only the santhosh-tekuri compilation notices.
func lazyBundle() *bundle.Bundle {
	return &bundle.Bundle{Defs: defs, Operations: []bundle.Operation{
		{ID: "good", Body: &bundle.RequestBody{Content: []bundle.MediaType{
			{Type: "application/json", Schema: json.RawMessage(`{"$ref":"#/$defs/Pet"}`)}}}},
		{ID: "broken", Body: &bundle.RequestBody{Content: []bundle.MediaType{
			{Type: "application/json", Schema: json.RawMessage(`{"type":"object","properties":{"p":{"$ref":"#/$defs/Missing"}}}`)}}}},
	}}
}

func TestLazyCompile(t *testing.T) {
	b := lazyBundle()
	if _, err := CompileOptions(b, Options{Eager: true}); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Fatalf("Eager: want the missing definition reported, got %v", err)
	}
	v, err := Compile(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range v.Schemas() {
		if s.slow.done.Load() {
			t.Fatal("Compile compiled a santhosh schema")
		}
	}
	good, broken := v.Operation(0), v.Operation(1)
	// The fast path accepts alone; santhosh compiles on the first failure.
	if e := good.BodyBytes("application/json", []byte(`{"name":"Rex"}`)); e != nil {
		t.Fatal(e)
	}
	if good.media[0].slow.done.Load() {
		t.Error("a valid request compiled the santhosh schema")
	}
	if e := good.BodyBytes("application/json", []byte(`{"name":""}`)); e == nil || e.Status != 400 || pointers(e) != "/body/name" {
		t.Errorf("invalid body: %v", e)
	}
	// A schema that fails to compile: 500, every time, never a panic.
	for range 2 {
		e := broken.BodyBytes("application/json", []byte(`{"p":1}`))
		if e == nil || e.Status != http.StatusInternalServerError || len(e.Errors) != 0 {
			t.Fatalf("broken schema: want a 500, got %+v", e)
		}
		if !strings.Contains(string(e.Problem()), `"status":500`) {
			t.Errorf("problem: %s", e.Problem())
		}
	}
	if err := v.Warm(t.Context()); err == nil {
		t.Error("Warm: want the compile error")
	}
	for _, s := range v.Schemas() {
		if !s.slow.done.Load() {
			t.Error("Warm left a schema uncompiled")
		}
	}
}

func TestWarmConcurrent(t *testing.T) {
	v, err := Compile(lazyBundle())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := v.Warm(ctx); err != context.Canceled {
		t.Errorf("Warm on a done context: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = v.Warm(t.Context()); close(done) }()
	for range 4 {
		if e := v.Operation(0).BodyBytes("application/json", []byte(`{"name":1}`)); e == nil || e.Status != 400 {
			t.Errorf("want 400, got %v", e)
		}
	}
	<-done
}

func TestReloadReusesCompiled(t *testing.T) {
	b := &bundle.Bundle{Defs: defs, Operations: []bundle.Operation{{ID: "a", Body: &bundle.RequestBody{Content: []bundle.MediaType{
		{Type: "application/json", Schema: json.RawMessage(`{"$ref":"#/$defs/Pet"}`)}}}}}}
	v, err := CompileOptions(b, Options{Eager: true})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := v.Reload(b)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Operation(0).media[0].slow != v.Operation(0).media[0].slow {
		t.Error("Reload recompiled an unchanged schema")
	}
	// A changed definition behind the same root is recompiled.
	changed := map[string]json.RawMessage{"Pet": json.RawMessage(`{"type":"object","required":["x"]}`), "Toy": defs["Toy"]}
	v3, err := v.Reload(&bundle.Bundle{Defs: changed, Operations: b.Operations})
	if err != nil {
		t.Fatal(err)
	}
	if v3.Operation(0).media[0].slow == v.Operation(0).media[0].slow {
		t.Error("Reload reused a schema whose definition changed")
	}
	if e := v3.Operation(0).BodyBytes("application/json", []byte(`{"name":"Rex"}`)); e == nil || e.Status != 400 {
		t.Errorf("changed definition: want 400, got %v", e)
	}
}

// TestClassPattern checks the pattern shortcut against the regexp.
func TestClassPattern(t *testing.T) {
	for _, p := range []string{`^[a-z0-9-]+$`, `^[A-Z]{2,3}$`, `^.*$`, `^(?i)[a-c]*$`, `^\d?$`, `^[^x]+$`,
		`^AB[a-c0-9]{2}$`, `^a-[^x]*$`, `^ord_[0-9a-z]{3}$`} {
		re := regexp.MustCompile(p)
		cp := newClassPattern(p, re)
		if cp == nil {
			t.Fatalf("%s: no shortcut", p)
		}
		for _, s := range []string{"", "a", "abc-9", "ABC", "AB", "ABCD", "a\nb", "x", "9", "é", "aé", "B", "abcx",
			"ABa9", "ABa", "ABa99", "AB", "aBa9", "a-", "a-b", "a-x", "a-é", "é-b", "ord_a1z", "ord_A1z", "ord_a1", "ord_a1zz", "ord_é1z"} {
			if got, want := cp.match([]byte(s)), re.MatchString(s); got != want {
				t.Errorf("%s on %q: %v, regexp %v", p, s, got, want)
			}
		}
	}
	for _, p := range []string{`^a+b$`, `[a-z]+`, `^[a-z]+`, `(?m)^[a-z]+$`, `^[a-z]+$|^x$`, `^(?i)ab[a-z]+$`, `^é[a-z]+$`, `^[a-z]+x$`} {
		if newClassPattern(p, regexp.MustCompile(p)) != nil {
			t.Errorf("%s: unexpected shortcut", p)
		}
	}
}
