package gateway

import (
	"strings"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// FuzzAuthorizerAnswer: any answer an authorizer sends is a decision or an
// error, never a panic, and only the documented shapes allow.
func FuzzAuthorizerAnswer(f *testing.F) {
	for _, s := range []string{`{"result":true}`, `{"result":{"allow":true}}`, `{"allow":true}`, `{}`, `{"result":false}`,
		`{"result":"true"}`, `{"result":{"allow":"yes"}}`, `[true]`, `true`, `{"result":null}`, `{"result":{"allow":true,"x":1}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		allow, err := allowed(data)
		if err != nil && allow {
			t.Fatalf("%q: allowed with an error", data)
		}
		if allow && !strings.Contains(string(data), "true") {
			t.Fatalf("%q: allowed without a true in it", data)
		}
	})
}

// FuzzCORSOrigin: an origin is allowed only when it is listed, or under a
// listed wildcard domain with its scheme.
func FuzzCORSOrigin(f *testing.F) {
	p := newCORS(&bundle.CORS{AllowOrigins: []string{"https://app.example.com", "https://*.example.org"}}, &bundle.Operation{}, nil)
	for _, s := range []string{"https://app.example.com", "https://a.example.org", "https://example.org", "http://a.example.org",
		"https://a.example.org.evil", "https://evil.com/.example.org", "https://x@a.example.org", "", "null", "https://A.EXAMPLE.ORG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		if !p.allows(origin) {
			return
		}
		o := strings.ToLower(origin)
		if o == "https://app.example.com" {
			return
		}
		host, ok := strings.CutPrefix(o, "https://")
		if !ok || !strings.HasSuffix(host, ".example.org") || strings.ContainsAny(host, "/:@") || host == ".example.org" {
			t.Fatalf("%q allowed", origin)
		}
	})
}
