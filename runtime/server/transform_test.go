package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gwcdev/gwc/runtime/bundle"
)

func TestHeaderTransforms(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Use: "sig"}}}) //nolint:errcheck
	}))
	defer jwks.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Secret", "internal")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header) //nolint:errcheck
	})
	t.Setenv("GWC_TEST_T_KEYS", "acme:key-1")
	b := mainBundle("T", up.URL)
	b.SecuritySchemes = []bundle.SecurityScheme{
		{Name: "key", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "env:GWC_TEST_T_KEYS"},
		{Name: "jwt", Type: "http", Scheme: "bearer", JWKSURL: jwks.URL},
	}
	headers := &bundle.Headers{
		Request: &bundle.HeaderOps{
			Set: []bundle.HeaderValue{{Name: "X-Client", Value: "{client}"}, {Name: "X-Item", Value: "item-{path.id}"},
				{Name: "X-Q", Value: "{query.q}"}, {Name: "X-Req", Value: "{request_id}"}, {Name: "X-Tenant", Value: "{claims.tenant}"},
				{Name: "X-UA", Value: "ua={header.User-Agent}"}},
			Add:    []bundle.HeaderValue{{Name: "X-Trace", Value: "gw"}, {Name: "X-Via-Client", Value: "{client}"}},
			Remove: []string{"Cookie"},
		},
		Response: &bundle.HeaderOps{Set: []bundle.HeaderValue{{Name: "X-Served-By", Value: "gwc"}}, Remove: []string{"X-Upstream-Secret"}},
	}
	idParam := bundle.Param{Name: "id", In: "path", Required: true, Style: "simple", Schema: schema(`{"type":"string"}`)}
	addOp(b, bundle.Operation{ID: "get", Method: "GET", Path: "/items/{id}", Params: []bundle.Param{idParam},
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "key"}}}, {Schemes: []bundle.SchemeRequirement{{Scheme: "jwt"}}}},
		Policy:   bundle.Policy{Upstream: "main", Headers: headers}})
	ts := startServer(t, staticLoad(b))

	seen := func(resp *http.Response, body []byte) http.Header {
		t.Helper()
		var h http.Header
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
		}
		return h
	}
	// A client forging the headers the gateway sets gets its own values
	// replaced; headers it may add to keep theirs.
	resp, body := do(t, "GET", ts.base+"/api/items/42?q=lamps", nil, "X-Key", "key-1", "X-Client", "admin", "X-Tenant", "root",
		"X-Via-Client", "admin", "X-Trace", "client", "Cookie", "s=1", "User-Agent", "tester", "X-Request-Id", "req-7")
	h := seen(resp, body)
	for name, want := range map[string]string{"X-Client": "acme", "X-Item": "item-42", "X-Q": "lamps", "X-Req": "req-7",
		"X-Ua": "ua=tester", "X-Via-Client": "acme", "Cookie": "", "X-Tenant": ""} {
		if got := h.Get(name); got != want {
			t.Errorf("upstream %s %q, want %q", name, got, want)
		}
	}
	if got := h.Values("X-Trace"); len(got) != 2 || got[0] != "client" || got[1] != "gw" {
		t.Errorf("X-Trace %q: add appends to what the client sent", got)
	}
	if resp.Header.Get("X-Served-By") != "gwc" || resp.Header.Get("X-Upstream-Secret") != "" {
		t.Errorf("response headers %v", resp.Header)
	}

	// Claims from a token.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	tok, _ := jwt.Signed(signer).Claims(map[string]any{"sub": "u-9", "tenant": "t-3\r\nX-Evil: 1", "exp": time.Now().Add(time.Hour).Unix()}).Serialize()
	resp, body = do(t, "GET", ts.base+"/api/items/1", nil, "Authorization", "Bearer "+tok, "X-Tenant", "root")
	h = seen(resp, body)
	if h.Get("X-Tenant") != "t-3X-Evil: 1" || h.Get("X-Evil") != "" || h.Get("X-Client") != "u-9" {
		t.Errorf("from claims: X-Tenant %q, X-Evil %q, X-Client %q", h.Get("X-Tenant"), h.Get("X-Evil"), h.Get("X-Client"))
	}
}
