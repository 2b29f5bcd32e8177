package router

import (
	"slices"
	"strings"
	"testing"
)

// canonicalTemplate is a template with its literals in canonical form, as
// the router compares them.
func canonicalTemplate(tb testing.TB, tmpl string) string {
	tb.Helper()
	var b strings.Builder
	for i, seg := range strings.Split(tmpl[1:], "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		parts, err := parseSegment(seg)
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range parts {
			if p.param {
				b.WriteString("{" + p.lit + "}")
			} else {
				b.WriteString(p.lit)
			}
		}
	}
	return "/" + b.String()
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"/v1/pets/1", "/v1/files/a.b.c", "/2010-04-01/Accounts/A/Calls/B.json", "/a/static/y", "/", "//", "/v2/caf%C3%A9/x"} {
		f.Add("GET", s)
	}
	r := newTestRouter(f)
	templates := make([]string, len(testRoutes))
	for i, s := range testRoutes {
		_, tmpl, _ := strings.Cut(s, " ")
		templates[i] = canonicalTemplate(f, tmpl)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		var ps Params
		op, res := r.Lookup(method, path, &ps)
		allow := r.Allow(path)
		switch res {
		case NotFound:
			if allow != "" {
				t.Fatalf("NotFound but Allow = %q", allow)
			}
			return
		case MethodNotAllowed:
			if allow == "" || slices.Contains(strings.Split(allow, ", "), method) {
				t.Fatalf("MethodNotAllowed for %q but Allow = %q", method, allow)
			}
			return
		}
		if op < 0 || op >= len(templates) {
			t.Fatalf("op %d out of range", op)
		}
		vals := make([]string, ps.Len())
		for i := range vals {
			vals[i] = ps.Value(i)
			if vals[i] == "" || strings.Contains(vals[i], "/") {
				t.Fatalf("param %s = %q", ps.Name(i), vals[i])
			}
		}
		if got := instantiate(templates[op], vals); got != path {
			t.Fatalf("%s %q routed to %q with %q, which gives %q", method, path, templates[op], vals, got)
		}
		if !strings.Contains(allow, strings.SplitN(testRoutes[op], " ", 2)[0]) {
			t.Fatalf("found %q but Allow = %q", testRoutes[op], allow)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "//a//b/", "/%2e%2E/x", "/a%2fb", "/caf%c3%a9", "/café", "/a%C0%AE", "/a/..;/b", "/%41%7e", "/a b{c}", "/a\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		clean, err := Normalize(raw)
		if err != nil {
			if clean != "" {
				t.Fatalf("error %v with output %q", err, clean)
			}
			return
		}
		if again, err := Normalize(clean); err != nil || again != clean {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, clean, again, err)
		}
		lower := strings.ToLower(clean)
		if !strings.HasPrefix(clean, "/") || strings.Contains(clean, "//") ||
			strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(clean, "\\") {
			t.Fatalf("%q -> %q", raw, clean)
		}
		for _, seg := range strings.Split(clean, "/") {
			seg, _, _ = strings.Cut(seg, ";")
			if seg == "." || seg == ".." {
				t.Fatalf("%q -> %q has a dot segment", raw, clean)
			}
		}
		for i := 0; i < len(clean); i++ {
			if c := clean[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("%q -> %q has byte %#x", raw, clean, c)
			}
		}
	})
}
