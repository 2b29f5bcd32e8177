package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// TestAuthorizer: an external authorizer speaking OPA's data API decides
// per request, with what gwc knows of the caller; decisions are cached per
// input; a failing authorizer denies with 503 (on_error: deny) or lets
// through (allow).
func TestAuthorizer(t *testing.T) {
	var calls atomic.Int32
	var down atomic.Bool
	var last atomic.Value
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(r.Body)
		last.Store(string(body))
		var doc struct {
			Input struct {
				Client, Path, Method string
				Headers              map[string]string
			}
		}
		json.Unmarshal(body, &doc) //nolint:errcheck
		in := doc.Input
		// As OPA answers POST /v1/data/gateway/allow: {"result": bool}.
		allow := in.Client == "acme" && (in.Method == "GET" || in.Headers["X-Role"] == "writer")
		if strings.HasSuffix(in.Path, "/pkg") {
			// As OPA answers POST /v1/data/gateway for a package: {"result": {"allow": bool}}.
			json.NewEncoder(w).Encode(map[string]any{"result": map[string]any{"allow": allow}}) //nolint:errcheck
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"result": allow}) //nolint:errcheck
	}))
	defer authz.Close()
	up := newUpstream(t, nil)
	t.Setenv("GWC_TEST_Z_KEYS", "acme:key-acme,beta:key-beta")
	b := mainBundle("Z", up.URL)
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "key", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "env:GWC_TEST_Z_KEYS"}}
	b.Authorizers = []bundle.Authorizer{
		{Name: "opa", URL: authz.URL + "/v1/data/gateway/allow", CacheTTL: bundle.Duration(time.Minute), ForwardHeaders: []string{"X-Role"}, OnError: "deny"},
		{Name: "lenient", URL: authz.URL + "/v1/data/gateway/allow", OnError: "allow"},
	}
	sec := []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "key"}}}}
	addOp(b, bundle.Operation{ID: "read", Method: "GET", Path: "/docs", Security: sec, Policy: bundle.Policy{Upstream: "main", Authorizer: "opa"}})
	addOp(b, bundle.Operation{ID: "write", Method: "POST", Path: "/docs", Security: sec, Policy: bundle.Policy{Upstream: "main", Authorizer: "opa"}})
	addOp(b, bundle.Operation{ID: "pkg", Method: "GET", Path: "/pkg", Security: sec, Policy: bundle.Policy{Upstream: "main", Authorizer: "opa"}})
	addOp(b, bundle.Operation{ID: "lenient", Method: "GET", Path: "/lenient", Security: sec, Policy: bundle.Policy{Upstream: "main", Authorizer: "lenient"}})
	ts := startServer(t, staticLoad(b))

	for _, c := range []struct {
		name, method, path string
		hdr                []string
		status             int
	}{
		{"allowed client reads", "GET", "/api/docs", []string{"X-Key", "key-acme"}, 200},
		{"other client", "GET", "/api/docs", []string{"X-Key", "key-beta"}, 403},
		{"write without the role", "POST", "/api/docs", []string{"X-Key", "key-acme"}, 403},
		{"write with the role", "POST", "/api/docs", []string{"X-Key", "key-acme", "X-Role", "writer"}, 200},
		{"package answer", "GET", "/api/pkg", []string{"X-Key", "key-acme"}, 200},
		{"package answer, denied", "GET", "/api/pkg", []string{"X-Key", "key-beta"}, 403},
		{"no key: authentication first", "GET", "/api/docs", nil, 401},
	} {
		resp, body := do(t, c.method, ts.base+c.path, nil, c.hdr...)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
	}
	if s, _ := last.Load().(string); !strings.Contains(s, `"client":"beta"`) || !strings.Contains(s, `"operation":"pkg"`) || !strings.Contains(s, `"remote_ip":"127.0.0.1"`) {
		t.Errorf("authorizer input %s", s)
	}

	// Cached: the same input again makes no call.
	before := calls.Load()
	do(t, "GET", ts.base+"/api/docs", nil, "X-Key", "key-acme")
	if calls.Load() != before {
		t.Errorf("a cached decision called the authorizer again")
	}

	// The authorizer fails: deny means 503, allow lets through.
	down.Store(true)
	resp, body := do(t, "GET", ts.base+"/api/docs?fresh=1", nil, "X-Key", "key-acme")
	if p := problemOf(t, resp, body); resp.StatusCode != 503 || p["type"] != "https://gwc.dev/problems/authorizer-unavailable" {
		t.Errorf("authorizer down, on_error deny: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", ts.base+"/api/lenient", nil, "X-Key", "key-beta"); resp.StatusCode != 200 {
		t.Errorf("authorizer down, on_error allow: %d", resp.StatusCode)
	}
}
