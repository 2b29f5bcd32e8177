package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// authBundle has an API key scheme in each place a key can be, a basic
// scheme, and operations that combine them: OR between alternatives, AND
// within one, public by `security: []`.
func authBundle(t *testing.T, target string) *bundle.Bundle {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	// Commas and newlines separate entries; CLIENT:KEY names a client.
	if err := os.WriteFile(keys, []byte("# team keys\nacme:k-acme-123, k-anon-456\nbeta:k-beta-789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// htpasswd -B writes $2y$, which x/crypto's bcrypt reads as $2a$.
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("alice:$2y$"+string(hash[4:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GWC_TEST_QUERY_KEYS", "q-key-1")
	b := mainBundle("Auth", target)
	b.SecuritySchemes = []bundle.SecurityScheme{
		{Name: "headerKey", Type: "apiKey", In: "header", ParamName: "X-API-Key", Keys: bundle.SecretRef("file:" + keys)},
		{Name: "queryKey", Type: "apiKey", In: "query", ParamName: "api_key", Keys: "env:GWC_TEST_QUERY_KEYS"},
		{Name: "cookieKey", Type: "apiKey", In: "cookie", ParamName: "session", Keys: bundle.SecretRef("file:" + keys)},
		{Name: "basic", Type: "http", Scheme: "basic", Htpasswd: bundle.SecretRef("file:" + htpasswd)},
		{Name: "bearer", Type: "http", Scheme: "bearer"}, // not checked by this runtime yet
	}
	req := func(alts ...[]string) []bundle.Requirement {
		var out []bundle.Requirement
		for _, alt := range alts {
			var r bundle.Requirement
			for _, s := range alt {
				r.Schemes = append(r.Schemes, bundle.SchemeRequirement{Scheme: s})
			}
			out = append(out, r)
		}
		return out
	}
	up := bundle.Policy{Upstream: "main"}
	addOp(b, bundle.Operation{ID: "header", Method: "GET", Path: "/header", Policy: up, Security: req([]string{"headerKey"})})
	addOp(b, bundle.Operation{ID: "either", Method: "GET", Path: "/either", Policy: up,
		Security: req([]string{"queryKey"}, []string{"basic"}, []string{"cookieKey"})})
	addOp(b, bundle.Operation{ID: "both", Method: "GET", Path: "/both", Policy: up, Security: req([]string{"headerKey", "basic"})})
	addOp(b, bundle.Operation{ID: "public", Method: "GET", Path: "/public", Policy: up, Public: true})
	addOp(b, bundle.Operation{ID: "bearerOrKey", Method: "GET", Path: "/bearer-or-key", Policy: up,
		Security: req([]string{"bearer"}, []string{"headerKey"})})
	return b
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthentication(t *testing.T) {
	up := newUpstream(t, nil)
	access := &syncBuffer{}
	ts := startServerWith(t, staticLoad(authBundle(t, up.URL)), func(o *Options) { o.AccessLog = slogJSON(access) })

	type tc struct {
		name, path string
		hdr        []string
		status     int
	}
	for _, c := range []tc{
		{"no key", "/api/header", nil, 401},
		{"wrong key", "/api/header", []string{"X-API-Key", "k-nope"}, 401},
		{"a named client's key", "/api/header", []string{"X-API-Key", "k-acme-123"}, 200},
		{"an unnamed key", "/api/header", []string{"X-API-Key", "k-anon-456"}, 200},
		{"the header key sent in the query", "/api/header?X-API-Key=k-acme-123", nil, 401},
		{"the right name in the wrong place", "/api/header", []string{"Cookie", "X-API-Key=k-acme-123"}, 401},
		{"query key", "/api/either?api_key=q-key-1&x=1", nil, 200},
		{"wrong query key", "/api/either?api_key=q-key-2", nil, 401},
		{"basic", "/api/either", []string{"Authorization", basicAuth("alice", "s3cret")}, 200},
		{"basic, wrong password", "/api/either", []string{"Authorization", basicAuth("alice", "nope")}, 401},
		{"basic, unknown user", "/api/either", []string{"Authorization", basicAuth("mallory", "s3cret")}, 401},
		{"basic, not base64", "/api/either", []string{"Authorization", "Basic !!!"}, 401},
		{"cookie key", "/api/either", []string{"Cookie", "theme=dark; session=k-beta-789"}, 200},
		{"AND: key alone", "/api/both", []string{"X-API-Key", "k-acme-123"}, 401},
		{"AND: basic alone", "/api/both", []string{"Authorization", basicAuth("alice", "s3cret")}, 401},
		{"AND: both", "/api/both", []string{"X-API-Key", "k-acme-123", "Authorization", basicAuth("alice", "s3cret")}, 200},
		{"public", "/api/public", nil, 200},
		{"an unchecked alternative never passes", "/api/bearer-or-key", []string{"Authorization", "Bearer x"}, 401},
		{"the checked alternative passes", "/api/bearer-or-key", []string{"X-API-Key", "k-beta-789"}, 200},
	} {
		before := up.count()
		resp, body := do(t, "GET", ts.base+c.path, nil, c.hdr...)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
			continue
		}
		if c.status == 401 {
			if p := problemOf(t, resp, body); p["type"] != "https://gwc.dev/problems/unauthorized" {
				t.Errorf("%s: problem %v", c.name, p)
			}
			if len(resp.Header.Values("WWW-Authenticate")) == 0 {
				t.Errorf("%s: 401 without WWW-Authenticate", c.name)
			}
			if up.count() != before {
				t.Errorf("%s: refused, yet the upstream was called", c.name)
			}
		}
	}

	// Challenges name every scheme that could have let the request in.
	resp, _ := do(t, "GET", ts.base+"/api/either", nil)
	got := resp.Header.Values("WWW-Authenticate")
	want := []string{`ApiKey realm="queryKey", in="query", name="api_key"`, `Basic realm="basic", charset="UTF-8"`,
		`ApiKey realm="cookieKey", in="cookie", name="session"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}

	// The gateway's credentials stay at the gateway; the rest goes on.
	do(t, "GET", ts.base+"/api/either?api_key=q-key-1&x=1", nil)
	if r := up.last(t); r.URI != "/either?x=1" {
		t.Errorf("upstream URI %q: the query key was forwarded", r.URI)
	}
	do(t, "GET", ts.base+"/api/either", nil, "Cookie", "theme=dark; session=k-beta-789")
	if c := up.last(t).Header.Get("Cookie"); strings.Contains(c, "session") || !strings.Contains(c, "theme=dark") {
		t.Errorf("upstream Cookie %q", c)
	}
	do(t, "GET", ts.base+"/api/both", nil, "X-API-Key", "k-acme-123", "Authorization", basicAuth("alice", "s3cret"))
	if h := up.last(t).Header; h.Get("X-API-Key") != "" || h.Get("Authorization") != "" {
		t.Errorf("credentials forwarded: %v", h)
	}

	// The client is the key's name, or a short hash of an unnamed key, in
	// the access log.
	clients := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(access.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		if c, ok := rec["client"].(string); ok {
			clients[c] = true
		}
	}
	for _, c := range []string{"acme", "beta", "alice"} {
		if !clients[c] {
			t.Errorf("client %q not in the access log: %v", c, clients)
		}
	}
	var hashed bool
	for c := range clients {
		hashed = hashed || (strings.HasPrefix(c, "key-") && len(c) == len("key-")+8)
	}
	if !hashed {
		t.Errorf("no key-XXXXXXXX client for the unnamed key: %v", clients)
	}
	for c := range clients {
		if strings.Contains(c, "k-anon") {
			t.Errorf("an unnamed key is logged as itself: %q", c)
		}
	}
	// The clients the secrets name are counted in the metrics.
	m := get(t, "http://"+ts.AdminAddr().String()+"/metrics")
	for _, want := range []string{`gwc_client_requests_total{class="2xx",client="acme"}`, `gwc_client_requests_total{class="2xx",client="alice"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "gwc_client_requests_total"))
		}
	}
}

// TestAuthSecretsRefused: a secret that cannot be read stops the load with
// the scheme and the reference named, and nothing is served unchecked.
func TestAuthSecretsRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		scheme bundle.SecurityScheme
		want   string
	}{
		{"unset variable", bundle.SecurityScheme{Name: "k", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "env:GWC_TEST_UNSET_KEYS"},
			"security scheme k: keys env:GWC_TEST_UNSET_KEYS: environment variable GWC_TEST_UNSET_KEYS is not set"},
		{"missing file", bundle.SecurityScheme{Name: "k", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "file:/nonexistent/keys"},
			"security scheme k: keys file:/nonexistent/keys: reading /nonexistent/keys: no such file or directory"},
		{"client without key", bundle.SecurityScheme{Name: "k", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "env:GWC_TEST_BAD_KEYS"},
			`security scheme k: keys env:GWC_TEST_BAD_KEYS: entry 2 has a client name ("acme") and no key`},
		{"weak htpasswd", bundle.SecurityScheme{Name: "b", Type: "http", Scheme: "basic", Htpasswd: "env:GWC_TEST_MD5"},
			"htpasswd env:GWC_TEST_MD5:1: user bob: only bcrypt entries are accepted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GWC_TEST_BAD_KEYS", "good-key,acme:")
			t.Setenv("GWC_TEST_MD5", "bob:$apr1$x$y")
			b := &bundle.Bundle{API: bundle.API{Title: "A", Version: "1", OpenAPI: "3.1.0", Source: "a.yaml"}}
			b.SecuritySchemes = []bundle.SecurityScheme{c.scheme}
			addOp(b, bundle.Operation{ID: "op", Method: "GET", Path: "/x", Policy: bundle.Policy{Mock: true},
				Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: c.scheme.Name}}}}})
			_, err := New(t.Context(), Options{Listen: "127.0.0.1:0", Load: staticLoad(b)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestBearerJWT: tokens verified against a loopback JWKS through the whole
// request path: 401 with a Bearer challenge, 403 for a missing scope, the
// token's subject as the client in the access log, the token passed on.
func TestBearerJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}}) //nolint:errcheck
	}))
	defer jwks.Close()
	up := newUpstream(t, nil)
	b := mainBundle("JWT", up.URL)
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "bearer", Type: "http", Scheme: "bearer", BearerFormat: "JWT",
		JWKSURL: jwks.URL, Issuer: "https://id.example", Audiences: []string{"pets"}}}
	addOp(b, bundle.Operation{ID: "readPets", Method: "GET", Path: "/pets", Policy: bundle.Policy{Upstream: "main"},
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "bearer", Scopes: []string{"pets:read"}}}}}})
	access := &syncBuffer{}
	ts := startServerWith(t, staticLoad(b), func(o *Options) { o.AccessLog = slogJSON(access) })

	sign := func(claims map[string]any) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := sign(map[string]any{"iss": "https://id.example", "aud": "pets", "sub": "svc-billing", "exp": exp, "scope": "pets:read"})
	resp, body := do(t, "GET", ts.base+"/api/pets", nil, "Authorization", "Bearer "+good)
	if resp.StatusCode != 200 {
		t.Fatalf("good token: %d %s", resp.StatusCode, body)
	}
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+good {
		t.Errorf("upstream Authorization %q: the token is passed on", got)
	}

	resp, body = do(t, "GET", ts.base+"/api/pets", nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="bearer"` {
		t.Errorf("no token: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	noScope := sign(map[string]any{"iss": "https://id.example", "aud": "pets", "sub": "svc-billing", "exp": exp, "scope": "pets:write"})
	resp, body = do(t, "GET", ts.base+"/api/pets", nil, "Authorization", "Bearer "+noScope)
	if p := problemOf(t, resp, body); resp.StatusCode != 403 || p["type"] != "https://gwc.dev/problems/forbidden" {
		t.Errorf("missing scope: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(access.String(), `"client":"svc-billing"`) {
		t.Errorf("the token's subject is not the client in the access log:\n%s", access.String())
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d key set fetches, want 1", n)
	}
	// Token subjects are not a bounded set: they are not metric labels.
	if m := get(t, "http://"+ts.AdminAddr().String()+"/metrics"); strings.Contains(m, "svc-billing") {
		t.Errorf("a token subject became a metric label:\n%s", grepLines(m, "svc-billing"))
	}
}

// TestKeyRotationOnReload: a reload reads the keys again: a key added to the
// file passes, a removed one no longer does, with no restart.
func TestKeyRotationOnReload(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("old:k-old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t, nil)
	b := mainBundle("R", up.URL)
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "key", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: bundle.SecretRef("file:" + keys)}}
	addOp(b, bundle.Operation{ID: "get", Method: "GET", Path: "/x", Policy: bundle.Policy{Upstream: "main"},
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "key"}}}}})
	ts := startServer(t, staticLoad(b))
	if resp, _ := do(t, "GET", ts.base+"/api/x", nil, "X-Key", "k-old"); resp.StatusCode != 200 {
		t.Fatalf("old key: %d", resp.StatusCode)
	}
	if err := os.WriteFile(keys, []byte("new:k-new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, "GET", ts.base+"/api/x", nil, "X-Key", "k-new"); resp.StatusCode != 200 {
		t.Errorf("new key after reload: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", ts.base+"/api/x", nil, "X-Key", "k-old"); resp.StatusCode != 401 {
		t.Errorf("removed key after reload: %d", resp.StatusCode)
	}
	// A key file that breaks keeps the keys being served.
	if err := os.WriteFile(keys, []byte("broken:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(t.Context()); err == nil {
		t.Error("a broken key file reloaded")
	}
	if resp, _ := do(t, "GET", ts.base+"/api/x", nil, "X-Key", "k-new"); resp.StatusCode != 200 {
		t.Errorf("after a failed reload: %d", resp.StatusCode)
	}
}
