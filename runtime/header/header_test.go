package header

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// fasthttpHeader is what RequestHeader and ResponseHeader both have.
type fasthttpHeader interface {
	Set(key, value string)
	SetCanonical(key, value []byte)
	Peek(key string) []byte
	PeekCanonical(key []byte) []byte
}

// A name made by Canonical is the one fasthttp's own methods find, and the
// one they store, both ways and on both header types.
func TestCanonicalIsFasthttps(t *testing.T) {
	names := []string{"X-Request-Id", "x-request-id", "X-REQUEST-ID", "RateLimit", "ratelimit-policy",
		"Forwarded", "connection", "X-Api-Key", "x-api-key", "A", "a-", "-a", "a--b", "X_Under", "9-lives", "Te"}
	names = append(names, "Content-Type", "host", "user-agent", "cookie") // fasthttp's special headers
	kinds := map[string]func() fasthttpHeader{
		"request":  func() fasthttpHeader { return new(fasthttp.RequestHeader) },
		"response": func() fasthttpHeader { return new(fasthttp.ResponseHeader) },
	}
	for kind, make := range kinds {
		for _, n := range names {
			h := make()
			h.SetCanonical(Canonical(n), []byte("v1"))
			if got := string(h.Peek(n)); got != "v1" {
				t.Errorf("%s: SetCanonical(Canonical(%q)), then Peek(%q) = %q, want v1", kind, n, n, got)
			}
			h = make()
			h.Set(n, "v2")
			if got := string(h.PeekCanonical(Canonical(n))); got != "v2" {
				t.Errorf("%s: Set(%q), then PeekCanonical(Canonical(%q)) = %q, want v2", kind, n, n, got)
			}
		}
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"x-request-id": "X-Request-Id", "RATELIMIT-POLICY": "Ratelimit-Policy", "a--b": "A--B",
		"bad name": "bad name", "": "",
	} {
		if got := string(Canonical(in)); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
