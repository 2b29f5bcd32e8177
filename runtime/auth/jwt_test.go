package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// issuer is a real JWKS (and OpenID Connect discovery) server on loopback
// whose keys can be rotated; it counts the fetches.
type issuer struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]any // kid → private key
	public  []string       // kids served
	fetches atomic.Int32
	down    atomic.Bool
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{t: t, keys: map[string]any{}}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"}) //nolint:errcheck
		case "/jwks":
			is.fetches.Add(1)
			is.mu.Lock()
			var set jose.JSONWebKeySet
			for _, kid := range is.public {
				var pub any
				switch k := is.keys[kid].(type) {
				case *rsa.PrivateKey:
					pub = &k.PublicKey
				case *ecdsa.PrivateKey:
					pub = &k.PublicKey
				}
				set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: kid, Use: "sig"})
			}
			is.mu.Unlock()
			json.NewEncoder(w).Encode(set) //nolint:errcheck
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(is.srv.Close)
	return is
}

// rotate adds a key under kid and serves only the keys named.
func (is *issuer) rotate(kid string, key any, serve ...string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if key != nil {
		is.keys[kid] = key
	}
	is.public = serve
}

func (is *issuer) sign(kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	is.mu.Lock()
	key := is.keys[kid]
	is.mu.Unlock()
	return signWith(is.t, alg, key, kid, claims)
}

func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func bearer(tok string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.Set("Authorization", "Bearer "+tok)
	return ctx
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestJWT(t *testing.T, sc bundle.SecurityScheme) (*jwtScheme, *clock) {
	t.Helper()
	j, err := newJWT(&sc, keyClient)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	j.now, j.keys.now = c.now, c.now
	return j, c
}

func TestJWT(t *testing.T) {
	is := newIssuer(t)
	k1 := rsaKey(t)
	is.rotate("k1", k1, "k1")
	j, clk := newTestJWT(t, bundle.SecurityScheme{Name: "bearer", Type: "http", Scheme: "bearer",
		JWKSURL: is.srv.URL + "/jwks", Issuer: "https://id.example", Audiences: []string{"pets"}})
	now := clk.now()
	claims := func(change map[string]any) map[string]any {
		c := map[string]any{"iss": "https://id.example", "aud": []string{"pets"}, "sub": "user-1",
			"exp": now.Add(time.Hour).Unix(), "scope": "pets:read pets:list", "tenant": "t7"}
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	noneTok := b64([]byte(`{"alg":"none","kid":"k1"}`)) + "." + b64(mustJSON(t, claims(nil))) + "."
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	for _, c := range []struct {
		name   string
		tok    string
		scopes []string
		want   Result
	}{
		{"valid", is.sign("k1", jose.RS256, claims(nil)), nil, Passed},
		{"valid, scope granted", is.sign("k1", jose.RS256, claims(nil)), []string{"pets:read"}, Passed},
		{"scp as a list", is.sign("k1", jose.RS256, claims(map[string]any{"scope": nil, "scp": []string{"pets:read"}})), []string{"pets:read"}, Passed},
		{"scope missing", is.sign("k1", jose.RS256, claims(nil)), []string{"pets:write"}, NoScope},
		{"alg none", noneTok, nil, Invalid},
		{"HS256 signed with the RS256 public key", signWith(t, jose.HS256, pubDER, "k1", claims(nil)), nil, Invalid},
		{"another key, same kid", signWith(t, jose.RS256, rsaKey(t), "k1", claims(nil)), nil, Invalid},
		{"an EC key the set does not have", signWith(t, jose.ES256, ec, "k1", claims(nil)), nil, Invalid},
		{"wrong issuer", is.sign("k1", jose.RS256, claims(map[string]any{"iss": "https://evil.example"})), nil, Invalid},
		{"wrong audience", is.sign("k1", jose.RS256, claims(map[string]any{"aud": "other"})), nil, Invalid},
		{"no audience", is.sign("k1", jose.RS256, claims(map[string]any{"aud": nil})), nil, Invalid},
		{"expired", is.sign("k1", jose.RS256, claims(map[string]any{"exp": now.Add(-time.Minute).Unix()})), nil, Invalid},
		{"expired within the clock skew", is.sign("k1", jose.RS256, claims(map[string]any{"exp": now.Add(-10 * time.Second).Unix()})), nil, Passed},
		{"no exp", is.sign("k1", jose.RS256, claims(map[string]any{"exp": nil})), nil, Invalid},
		{"not yet valid", is.sign("k1", jose.RS256, claims(map[string]any{"nbf": now.Add(time.Hour).Unix()})), nil, Invalid},
		{"issued in the future", is.sign("k1", jose.RS256, claims(map[string]any{"iat": now.Add(time.Hour).Unix()})), nil, Invalid},
		{"garbage", "not.a.token", nil, Invalid},
	} {
		var id Identity
		if got := j.Check(bearer(c.tok), c.scopes, &id); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		} else if got == Passed && (id.Client != "user-1" || id.Claims["tenant"] != "t7") {
			t.Errorf("%s: identity %+v", c.name, id)
		}
	}
	// A token verified once is remembered, but its times are checked on
	// every use: once expired, it is refused.
	short := is.sign("k1", jose.RS256, claims(map[string]any{"exp": now.Add(2 * time.Minute).Unix()}))
	if got := j.Check(bearer(short), nil, &Identity{}); got != Passed {
		t.Errorf("short-lived token: %v", got)
	}
	clk.add(3 * time.Minute)
	if got := j.Check(bearer(short), nil, &Identity{}); got != Invalid {
		t.Errorf("the same token once expired: %v", got)
	}
	if got := j.Check(&fasthttp.RequestCtx{}, nil, &Identity{}); got != Missing {
		t.Errorf("no Authorization: %v", got)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the key set, want 1 (one set serves every token above)", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestJWTKeyRotation: a token signed by a key the cached set does not have
// makes one fetch, bounded however many such tokens come; a rotated key is
// picked up; a key set that cannot be fetched keeps the cached one.
func TestJWTKeyRotation(t *testing.T) {
	is := newIssuer(t)
	k1, k2 := rsaKey(t), rsaKey(t)
	is.rotate("k1", k1, "k1")
	j, clk := newTestJWT(t, bundle.SecurityScheme{Name: "b", Type: "oauth2", JWKSURL: is.srv.URL + "/jwks", Audiences: []string{"pets"}})
	claims := func() map[string]any {
		return map[string]any{"aud": "pets", "sub": "u", "exp": clk.now().Add(time.Hour).Unix()}
	}
	check := func(tok string) Result { return j.Check(bearer(tok), nil, &Identity{}) }
	if got := check(is.sign("k1", jose.RS256, claims())); got != Passed {
		t.Fatalf("k1: %v", got)
	}

	// A flood of unknown kids: at most one fetch per minRefetch.
	forged := rsaKey(t)
	for i := range 500 {
		if got := check(signWith(t, jose.RS256, forged, fmt.Sprintf("kid-%d", i), claims())); got != Invalid {
			t.Fatalf("unknown kid %d: %v", i, got)
		}
	}
	if n := is.fetches.Load(); n > 2 {
		t.Errorf("500 unknown kids made %d fetches, want at most 2", n)
	}

	// The issuer rotates to k2: once minRefetch has passed, the first k2
	// token fetches the new set and passes.
	is.rotate("k2", k2, "k2")
	clk.add(minRefetch + time.Second)
	before := is.fetches.Load()
	if got := check(is.sign("k2", jose.RS256, claims())); got != Passed {
		t.Fatalf("k2 after rotation: %v", got)
	}
	if got := check(is.sign("k1", jose.RS256, claims())); got != Invalid {
		t.Errorf("k1 after it was rotated out: %v", got)
	}
	if n := is.fetches.Load() - before; n != 1 {
		t.Errorf("rotation made %d fetches, want 1", n)
	}

	// The issuer goes down: the cached set goes on verifying after its TTL.
	is.down.Store(true)
	clk.add(keysTTL + time.Second)
	for range 3 {
		if got := check(is.sign("k2", jose.RS256, claims())); got != Passed {
			t.Errorf("k2 with the issuer down: %v", got)
		}
	}
}

func TestJWTDiscoveryAndAlgorithms(t *testing.T) {
	is := newIssuer(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is.rotate("e1", ec, "e1")
	// OpenID Connect: the key set and the issuer come from discovery.
	j, clk := newTestJWT(t, bundle.SecurityScheme{Name: "oidc", Type: "openIdConnect",
		OpenIDConnectURL: is.srv.URL + "/.well-known/openid-configuration", Algorithms: []string{"ES256"}})
	exp := clk.now().Add(time.Hour).Unix()
	if got := j.Check(bearer(is.sign("e1", jose.ES256, map[string]any{"iss": is.srv.URL, "sub": "u", "exp": exp})), nil, &Identity{}); got != Passed {
		t.Errorf("discovered issuer: %v", got)
	}
	if got := j.Check(bearer(is.sign("e1", jose.ES256, map[string]any{"iss": "https://other", "sub": "u", "exp": exp})), nil, &Identity{}); got != Invalid {
		t.Errorf("another issuer: %v", got)
	}
	k := rsaKey(t)
	is.rotate("r1", k, "e1", "r1")
	if got := j.Check(bearer(is.sign("r1", jose.RS256, map[string]any{"iss": is.srv.URL, "sub": "u", "exp": exp})), nil, &Identity{}); got != Invalid {
		t.Errorf("RS256 outside the allow-list: %v", got)
	}

	for _, algs := range [][]string{{"none"}, {"HS256"}, {"XX1"}} {
		if _, err := newJWT(&bundle.SecurityScheme{Name: "x", Type: "oauth2", JWKSURL: "https://id/jwks", Algorithms: algs}, keyClient); err == nil {
			t.Errorf("algorithms %v accepted", algs)
		}
	}
}
