package header

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// A name made by Canonical is the one fasthttp's own methods find, and the
// one they store, both ways and on both header types.
func TestCanonicalIsFasthttps(t *testing.T) {
	names := []string{"X-Request-Id", "x-request-id", "X-REQUEST-ID", "RateLimit", "ratelimit-policy",
		"Forwarded", "connection", "X-Api-Key", "x-api-key", "A", "a-", "-a", "a--b", "X_Under", "9-lives", "Te"}
	names = append(names, "Content-Type", "host", "user-agent", "cookie") // fasthttp's special headers
	for _, n := range names {
		var req fasthttp.RequestHeader
		req.SetCanonical(Canonical(n), []byte("v1"))
		if got := string(req.Peek(n)); got != "v1" {
			t.Errorf("request: SetCanonical(Canonical(%q)), then Peek(%q) = %q, want v1", n, n, got)
		}
		var req2 fasthttp.RequestHeader
		req2.Set(n, "v2")
		if got := string(req2.PeekCanonical(Canonical(n))); got != "v2" {
			t.Errorf("request: Set(%q), then PeekCanonical(Canonical(%q)) = %q, want v2", n, n, got)
		}
		var resp fasthttp.ResponseHeader
		resp.SetCanonical(Canonical(n), []byte("v3"))
		if got := string(resp.Peek(n)); got != "v3" {
			t.Errorf("response: SetCanonical(Canonical(%q)), then Peek(%q) = %q, want v3", n, n, got)
		}
		var resp2 fasthttp.ResponseHeader
		resp2.Set(n, "v4")
		if got := string(resp2.PeekCanonical(Canonical(n))); got != "v4" {
			t.Errorf("response: Set(%q), then PeekCanonical(Canonical(%q)) = %q, want v4", n, n, got)
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
