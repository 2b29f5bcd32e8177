package server

import (
	"strings"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

func corsBundle(target string) *bundle.Bundle {
	b := mainBundle("CORS", target)
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "key", Type: "apiKey", In: "header", ParamName: "X-Key"}}
	app := &bundle.CORS{AllowOrigins: []string{"https://app.example.com", "https://*.example.org"}, AllowCredentials: true,
		MaxAge: bundle.Duration(10 * time.Minute), ExposeHeaders: []string{"X-Total"}}
	pol := bundle.Policy{Upstream: "main", CORS: app}
	addOp(b, bundle.Operation{ID: "list", Method: "GET", Path: "/items", Public: true, Policy: pol,
		Params: []bundle.Param{{Name: "X-Tenant", In: "header", Style: "simple", Schema: schema(`{"type":"string"}`)}}})
	addOp(b, bundle.Operation{ID: "create", Method: "POST", Path: "/items", Public: true, Policy: pol,
		Body: &bundle.RequestBody{Content: []bundle.MediaType{{Type: "application/json", Schema: schema(`{"type":"object"}`)}}}})
	addOp(b, bundle.Operation{ID: "open", Method: "GET", Path: "/open", Public: true,
		Policy: bundle.Policy{Upstream: "main", CORS: &bundle.CORS{AllowOrigins: []string{"*"}}}})
	addOp(b, bundle.Operation{ID: "plain", Method: "GET", Path: "/plain", Public: true, Policy: bundle.Policy{Upstream: "main"}})
	return b
}

func TestCORS(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(corsBundle(up.URL)))
	preflight := func(path, origin, method, headers string) (int, map[string]string) {
		hdr := []string{"Origin", origin, "Access-Control-Request-Method", method}
		if headers != "" {
			hdr = append(hdr, "Access-Control-Request-Headers", headers)
		}
		resp, _ := do(t, "OPTIONS", ts.base+path, nil, hdr...)
		got := map[string]string{}
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
			"Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
			got[k] = resp.Header.Get(k)
		}
		return resp.StatusCode, got
	}

	calls := up.count()
	status, h := preflight("/api/items", "https://app.example.com", "POST", "Content-Type, X-Tenant, X-Evil")
	want := map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods": "GET, HEAD, POST", "Access-Control-Allow-Headers": "Content-Type",
		"Access-Control-Max-Age": "600", "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
	if status != 204 {
		t.Errorf("preflight: %d", status)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("preflight %s: %q, want %q", k, h[k], v)
		}
	}
	// The GET operation declares X-Tenant: a preflight for GET allows it.
	if _, h := preflight("/api/items", "https://app.example.com", "GET", "x-tenant"); h["Access-Control-Allow-Headers"] != "x-tenant" {
		t.Errorf("GET preflight headers %q", h["Access-Control-Allow-Headers"])
	}
	if up.count() != calls {
		t.Error("a preflight reached the upstream")
	}

	for origin, ok := range map[string]bool{
		"https://a.example.org": true, "https://a.b.example.org": true, "HTTPS://A.Example.ORG": true,
		"https://example.org": false, "https://evilexample.org": false, "http://a.example.org": false,
		"https://app.example.com.evil.net": false, "https://evil.net": false, "null": false,
	} {
		status, h := preflight("/api/items", origin, "GET", "")
		if ok && (status != 204 || h["Access-Control-Allow-Origin"] != origin) {
			t.Errorf("origin %s: %d, ACAO %q; want it allowed", origin, status, h["Access-Control-Allow-Origin"])
		}
		if !ok && (status != 403 || h["Access-Control-Allow-Origin"] != "") {
			t.Errorf("origin %s: %d, ACAO %q; want 403", origin, status, h["Access-Control-Allow-Origin"])
		}
	}

	// Actual requests: the answer says who may read it.
	resp, _ := do(t, "GET", ts.base+"/api/items", nil, "Origin", "https://app.example.com")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Expose-Headers") != "X-Total" ||
		resp.Header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "GET", ts.base+"/api/items", nil, "Origin", "https://evil.net")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("other origin: %d %v", resp.StatusCode, resp.Header)
	}
	// A problem answer is readable by the allowed origin too.
	resp, _ = do(t, "POST", ts.base+"/api/items", strings.NewReader("x"), "Origin", "https://app.example.com", "Content-Type", "text/plain")
	if resp.StatusCode != 415 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("problem answer: %d %v", resp.StatusCode, resp.Header)
	}
	// "*" without credentials.
	if _, h := preflight("/api/open", "https://anyone.example", "GET", ""); h["Access-Control-Allow-Origin"] != "*" || h["Access-Control-Allow-Credentials"] != "" {
		t.Errorf("open preflight: %v", h)
	}
	// No CORS policy: OPTIONS is routed like any method (405).
	if status, h := preflight("/api/plain", "https://app.example.com", "GET", ""); status != 405 || h["Access-Control-Allow-Origin"] != "" {
		t.Errorf("no policy: %d %v", status, h)
	}
}
