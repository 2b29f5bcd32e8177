package router

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// testRoutes is the table most tests route against; Operation is the index.
var testRoutes = []string{
	"GET /v1/pets",
	"POST /v1/pets",
	"GET /v1/pets/{id}",
	"DELETE /v1/pets/{id}",
	"GET /v1/pets/mine",
	"GET /v1/pets/{id}/photos/{photo}",
	"GET /v1/files/{name}.{ext}",
	"GET /v1/files/{name}",
	"GET /v1/files/{name}.json",
	"GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
	"GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings.json",
	"GET /2010-04-01/Accounts/{AccountSid}/Calls.json",
	"GET /a/static/x",
	"GET /a/{p}/y",
	"GET /api/v{major}/status",
	"GET /",
	"GET /slash/",
	"PUT /v2/café/{id}",
	"HEAD /v1/heads",
	"GET /v1/heads",
	"QUERY /v1/search",
	"PURGE /v1/cache/{key}",
	"GET /users/me",
	"DELETE /users/{id}",
	"GET /v1/models/{model}:cancel",
	"GET /v3/{a}.{b}.{c}/x",
	"GET /v3/p{a}-{b}s/y",
}

func routesOf(tb testing.TB, specs []string) []bundle.Route {
	tb.Helper()
	var rs []bundle.Route
	for i, s := range specs {
		m, p, ok := strings.Cut(s, " ")
		if !ok {
			tb.Fatalf("bad route %q", s)
		}
		rs = append(rs, bundle.Route{Method: m, Path: p, Operation: i})
	}
	return rs
}

func newTestRouter(tb testing.TB) *Router {
	tb.Helper()
	r, err := New(routesOf(tb, testRoutes))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestLookup(t *testing.T) {
	r := newTestRouter(t)
	tests := []struct {
		method, path string
		want         Result
		route        string // "METHOD /template" of the expected route
		params       string // "name=value,..."
		allow        string
	}{
		{"GET", "/v1/pets", Found, "GET /v1/pets", "", ""},
		{"POST", "/v1/pets", Found, "POST /v1/pets", "", ""},
		{"GET", "/v1/pets/42", Found, "GET /v1/pets/{id}", "id=42", ""},
		{"DELETE", "/v1/pets/42", Found, "DELETE /v1/pets/{id}", "id=42", ""},
		{"GET", "/v1/pets/mine", Found, "GET /v1/pets/mine", "", ""},              // static beats {id}
		{"DELETE", "/v1/pets/mine", Found, "DELETE /v1/pets/{id}", "id=mine", ""}, // per method
		{"GET", "/v1/pets/7/photos/p1", Found, "GET /v1/pets/{id}/photos/{photo}", "id=7,photo=p1", ""},
		{"GET", "/v1/files/report.json", Found, "GET /v1/files/{name}.json", "name=report", ""},
		{"GET", "/v1/files/a.tar.gz", Found, "GET /v1/files/{name}.{ext}", "name=a.tar,ext=gz", ""},
		{"GET", "/v1/files/README", Found, "GET /v1/files/{name}", "name=README", ""},
		{"GET", "/v1/files/.json", Found, "GET /v1/files/{name}", "name=.json", ""}, // {name} is never empty
		{"GET", "/v1/files/x.", Found, "GET /v1/files/{name}", "name=x.", ""},
		{"GET", "/2010-04-01/Accounts/AC1/Calls/CA1.json", Found, "GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json", "AccountSid=AC1,Sid=CA1", ""},
		{"GET", "/2010-04-01/Accounts/AC1/Calls/CA1/Recordings.json", Found, "GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings.json", "AccountSid=AC1,CallSid=CA1", ""},
		{"GET", "/2010-04-01/Accounts/AC1/Calls.json", Found, "GET /2010-04-01/Accounts/{AccountSid}/Calls.json", "AccountSid=AC1", ""},
		{"GET", "/2010-04-01/Accounts/AC1/Calls/CA1", NotFound, "", "", ""},
		{"GET", "/2010-04-01/Accounts/AC1/Calls/.json", NotFound, "", "", ""},
		{"GET", "/a/static/x", Found, "GET /a/static/x", "", ""},
		{"GET", "/a/static/y", Found, "GET /a/{p}/y", "p=static", ""}, // backtracking
		{"GET", "/a/other/y", Found, "GET /a/{p}/y", "p=other", ""},
		{"GET", "/a/other/x", NotFound, "", "", ""},
		{"GET", "/api/v2/status", Found, "GET /api/v{major}/status", "major=2", ""},
		{"GET", "/api/v/status", NotFound, "", "", ""},
		{"GET", "/", Found, "GET /", "", ""},
		{"GET", "/slash/", Found, "GET /slash/", "", ""},
		{"GET", "/slash", NotFound, "", "", ""},
		{"GET", "/v1/pets/", NotFound, "", "", ""}, // no trailing-slash match, no redirect
		{"GET", "/v1/pets//", NotFound, "", "", ""},
		{"GET", "/v1/pets/42/", NotFound, "", "", ""},
		{"PUT", "/v2/caf%C3%A9/x%20y", Found, "PUT /v2/café/{id}", "id=x%20y", ""}, // raw values
		{"GET", "/v2/caf%C3%A9/1", MethodNotAllowed, "", "", "PUT"},
		{"PUT", "/v1/pets", MethodNotAllowed, "", "", "GET, HEAD, POST"},
		{"get", "/v1/pets", MethodNotAllowed, "", "", "GET, HEAD, POST"}, // methods are case sensitive
		{"PATCH", "/v1/pets/mine", MethodNotAllowed, "", "", "GET, HEAD, DELETE"},
		{"HEAD", "/v1/pets/9", Found, "GET /v1/pets/{id}", "id=9", ""}, // HEAD falls back to GET
		{"HEAD", "/v1/heads", Found, "HEAD /v1/heads", "", ""},
		{"QUERY", "/v1/search", Found, "QUERY /v1/search", "", ""},
		{"PURGE", "/v1/cache/k1", Found, "PURGE /v1/cache/{key}", "key=k1", ""},
		{"GET", "/v1/cache/k1", MethodNotAllowed, "", "", "PURGE"},
		{"DELETE", "/users/me", Found, "DELETE /users/{id}", "id=me", ""},
		{"PUT", "/users/me", MethodNotAllowed, "", "", "GET, HEAD, DELETE"},
		{"GET", "/v1/models/gpt:cancel", Found, "GET /v1/models/{model}:cancel", "model=gpt", ""},
		{"GET", "/v1/models/gpt", NotFound, "", "", ""},
		{"GET", "/v3/x.y.z.w/x", Found, "GET /v3/{a}.{b}.{c}/x", "a=x.y,b=z,c=w", ""},
		{"GET", "/v3/x..y/x", NotFound, "", "", ""},
		{"GET", "/v3/x...y/x", Found, "GET /v3/{a}.{b}.{c}/x", "a=x,b=.,c=y", ""},
		{"GET", "/v3/x.y./x", NotFound, "", "", ""},
		{"GET", "/v3/...../x", Found, "GET /v3/{a}.{b}.{c}/x", "a=.,b=.,c=.", ""},
		{"GET", "/v3/pa-b-cs/y", Found, "GET /v3/p{a}-{b}s/y", "a=a-b,b=c", ""},
		{"GET", "/v3/p-s/y", NotFound, "", "", ""},
		{"GET", "/v3/ps/y", NotFound, "", "", ""},
		{"GET", "/nope", NotFound, "", "", ""},
		{"GET", "", NotFound, "", "", ""},
		{"GET", "v1/pets", NotFound, "", "", ""},
		{"GET", "/V1/pets", NotFound, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var ps Params
			op, res := r.Lookup(tt.method, tt.path, &ps)
			if res != tt.want {
				t.Fatalf("result = %v, want %v", res, tt.want)
			}
			if res != Found {
				if op != -1 || ps.Len() != 0 {
					t.Errorf("op, params = %d, %d; want -1, 0", op, ps.Len())
				}
				if got := r.Allow(tt.path); got != tt.allow {
					t.Errorf("Allow = %q, want %q", got, tt.allow)
				}
				return
			}
			if got := testRoutes[op]; got != tt.route {
				t.Errorf("route = %q, want %q", got, tt.route)
			}
			var got []string
			for i := range ps.Len() {
				got = append(got, ps.Name(i)+"="+ps.Value(i))
			}
			if g := strings.Join(got, ","); g != tt.params {
				t.Errorf("params = %q, want %q", g, tt.params)
			}
		})
	}
}

func TestParamsGet(t *testing.T) {
	r := newTestRouter(t)
	var ps Params
	if _, res := r.Lookup("GET", "/v1/pets/7/photos/p1", &ps); res != Found {
		t.Fatal(res)
	}
	for _, tt := range []struct {
		name, want string
		ok         bool
	}{{"id", "7", true}, {"photo", "p1", true}, {"ID", "", false}, {"", "", false}} {
		if v, ok := ps.Get(tt.name); v != tt.want || ok != tt.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tt.name, v, ok, tt.want, tt.ok)
		}
	}
	if ps.Name(-1) != "" || ps.Value(2) != "" {
		t.Error("out-of-range Name/Value are not empty")
	}
	// A failed lookup leaves no stale parameters behind.
	if _, res := r.Lookup("GET", "/nope/x", &ps); res != NotFound || ps.Len() != 0 {
		t.Errorf("after a miss: %v, %d params", res, ps.Len())
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		routes []string
		want   string // substring of the error; "" for no error
	}{
		{[]string{"GET /a/{id}", "GET /a/{key}"}, "same method and template"},
		{[]string{"GET /a/{id}", "DELETE /a/{key}"}, ""},
		{[]string{"GET a"}, "does not start"},
		{[]string{"GET /a/{id"}, "unbalanced"},
		{[]string{"GET /a/id}"}, "unbalanced"},
		{[]string{"GET /a/{}"}, "no valid name"},
		{[]string{"GET /a/{{x}}"}, "no valid name"},
		{[]string{"GET /a/{x}{y}"}, "nothing between"},
		{[]string{"GET /a/{x}/{x}"}, "appears twice"},
		{[]string{"GET /a/../b"}, "segment"},
		{[]string{"GET /a/%2F"}, "encoded"},
		{[]string{"GET /a/%zz"}, "percent"},
		{[]string{"GET /a/\x00"}, "control"},
		{[]string{" /a"}, "method is empty"},
		{[]string{"GET /" + strings.Repeat("{p}/", 17)}, "more than 16"},
		{[]string{"GET /a/{x}.{y}.z", "GET /a/{x}.z"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.routes, ";"), func(t *testing.T) {
			_, err := New(routesOf(t, tt.routes))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSkippedQueryTemplates(t *testing.T) {
	r, err := New(routesOf(t, []string{"GET /v1/responses", "GET /v1/responses?beta=true"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Skipped(); len(s) != 1 || s[0].Route.Operation != 1 {
		t.Fatalf("Skipped = %+v", s)
	}
	var ps Params
	if op, res := r.Lookup("GET", "/v1/responses", &ps); res != Found || op != 0 {
		t.Errorf("Lookup = %d, %v", op, res)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := newTestRouter(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/2010-04-01/Accounts/AC1/Calls/CA1/Recordings.json"},
		{"GET", "/a/static/y"},
		{"PUT", "/v1/pets"},
		{"GET", "/nope"},
		{"HEAD", "/v1/pets/9"},
	} {
		var ps Params
		if n := testing.AllocsPerRun(100, func() { r.Lookup(tt.method, tt.path, &ps) }); n != 0 {
			t.Errorf("Lookup(%s %s): %v allocs", tt.method, tt.path, n)
		}
		if n := testing.AllocsPerRun(100, func() { r.Allow(tt.path) }); n != 0 {
			t.Errorf("Allow(%s): %v allocs", tt.path, n)
		}
	}
}

// instantiate fills a template's parameters with values, in order.
func instantiate(template string, values []string) string {
	var b strings.Builder
	for i := 0; i < len(template); i++ {
		if template[i] != '{' {
			b.WriteByte(template[i])
			continue
		}
		end := strings.IndexByte(template[i:], '}')
		if len(values) == 0 {
			return b.String() + "<missing>"
		}
		b.WriteString(values[0])
		values = values[1:]
		i += end
	}
	return b.String()
}

// TestRoundTrip instantiates every template with sample values and checks
// it routes back to its own route with those values.
func TestRoundTrip(t *testing.T) {
	r := newTestRouter(t)
	for op, s := range testRoutes {
		m, tmpl, _ := strings.Cut(s, " ")
		var vals []string
		for i := range strings.Count(tmpl, "{") {
			vals = append(vals, fmt.Sprintf("v%d", i))
		}
		path, err := Normalize(instantiate(tmpl, vals))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		var ps Params
		got, res := r.Lookup(m, path, &ps)
		if res != Found || got != op {
			t.Errorf("%s %s: %d %v, want %d", m, path, got, res, op)
			continue
		}
		for i, v := range vals {
			if ps.Value(i) != v {
				t.Errorf("%s: param %d = %q, want %q", s, i, ps.Value(i), v)
			}
		}
	}
}

// TestMatchPartsAgainstRegexp checks the linear matcher against the
// regular expressions gorilla/mux would build ("(.+)" per parameter,
// leftmost-first, so greedy), over every short string of a small alphabet.
func TestMatchPartsAgainstRegexp(t *testing.T) {
	for _, seg := range []string{"{a}.{b}", "{a}.{b}.{c}", "v{a}", "{a}.json", "p{a}-{b}s", "{a}ab{b}ba{c}", "x{a}x{b}x"} {
		parts, err := parseSegment(seg)
		if err != nil {
			t.Fatal(err)
		}
		var re strings.Builder
		re.WriteString("^")
		for _, p := range parts {
			if p.param {
				re.WriteString("(.+)")
			} else {
				re.WriteString(regexp.QuoteMeta(p.lit))
			}
		}
		re.WriteString("$")
		rx := regexp.MustCompile(re.String())
		var vals [MaxParams]string
		var walk func(s string)
		walk = func(s string) {
			want := rx.FindStringSubmatch(s)
			ok := matchParts(parts, s, vals[:])
			if ok != (want != nil) {
				t.Fatalf("%s on %q: %v, regexp %v", seg, s, ok, want)
			}
			if ok && strings.Join(vals[:len(want)-1], "|") != strings.Join(want[1:], "|") {
				t.Fatalf("%s on %q: %q, regexp %q", seg, s, vals[:len(want)-1], want[1:])
			}
			if len(s) < 7 {
				for _, c := range []string{".", "a", "b", "x", "-"} {
					walk(s + c)
				}
			}
		}
		walk("")
	}
}
