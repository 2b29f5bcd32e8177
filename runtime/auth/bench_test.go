package auth

import (
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// BenchmarkJWTVerify is one bearer check with the key set cached, of a token
// seen before (the common case: clients reuse tokens), and of a token seen
// for the first time (parse, RS256 verification, claims).
// go test ./runtime/auth -run '^$' -bench . -benchmem
func BenchmarkJWTVerify(b *testing.B) {
	b.Run("seen", func(b *testing.B) { benchmarkJWT(b, false) })
	b.Run("first", func(b *testing.B) { benchmarkJWT(b, true) })
}

func benchmarkJWT(b *testing.B, first bool) {
	t := &testing.T{}
	is := newIssuer(t)
	defer is.srv.Close()
	is.rotate("k1", rsaKey(t), "k1")
	j, err := newJWT(&bundle.SecurityScheme{Name: "b", Type: "oauth2", JWKSURL: is.srv.URL + "/jwks",
		Issuer: "https://id.example", Audiences: []string{"pets"}}, keyClient)
	if err != nil {
		b.Fatal(err)
	}
	req := bearer(is.sign("k1", jose.RS256, map[string]any{"iss": "https://id.example", "aud": "pets", "sub": "u",
		"exp": time.Now().Add(time.Hour).Unix(), "scope": "pets:read"}))
	scopes := []string{"pets:read"}
	if j.Check(req, scopes, &Identity{}) != Passed {
		b.Fatal("token refused")
	}
	b.ReportAllocs()
	for b.Loop() {
		if first {
			j.verified.InvalidateAll()
		}
		var id Identity
		if j.Check(req, scopes, &id) != Passed {
			b.Fatal("token refused")
		}
	}
}

// BenchmarkAPIKey is one API key check: a header lookup, SHA-256, a map.
func BenchmarkAPIKey(b *testing.B) {
	k, err := newAPIKey(&bundle.SecurityScheme{Name: "k", Type: "apiKey", In: "header", ParamName: "X-API-Key", Keys: "env:X"},
		func(bundle.SecretRef) ([]byte, error) {
			return []byte("web:k-web-0123456789abcdef,mobile:k-mobile-0123456789"), nil
		})
	if err != nil {
		b.Fatal(err)
	}
	req := bearer("x")
	req.Request.Header.Set("X-API-Key", "k-mobile-0123456789")
	b.ReportAllocs()
	for b.Loop() {
		var id Identity
		if k.Check(req, nil, &id) != Passed {
			b.Fatal("key refused")
		}
	}
}
