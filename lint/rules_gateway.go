package lint

import (
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// uncheckedScheme flags security schemes gwc serve has nothing to check
// with, in specs that configure the gateway.
var uncheckedScheme = &Rule{
	ID: "gwc-unchecked-scheme", Severity: diag.Warning, Category: Gateway,
	Title: "a security scheme gwc serve cannot check",
	Description: "gwc serve checks an apiKey scheme against its `x-gateway.keys`, http basic against its " +
		"`x-gateway.htpasswd`, and bearer, oauth2 and openIdConnect tokens against `x-gateway.jwks_url` (or, for " +
		"openIdConnect, the `openIdConnectUrl` discovery). A scheme without them cannot pass: a proxied operation " +
		"that can only use it is refused (500 auth-unavailable), never served unchecked, and a mock answers with " +
		"`X-Gwc-Auth: not-checked`. Only specs that configure the gateway (a root `x-gateway`) are judged.",
	Run: func(p *Pass) {
		root := p.Doc.Root.Deref()
		if root == nil || root.Get("x-gateway") == nil {
			return
		}
		schemes := root.Get("components").Deref().Get("securitySchemes").Deref()
		if schemes == nil || schemes.Kind != spec.Object {
			return
		}
		for _, pr := range schemes.Pairs {
			s := pr.Value.Deref()
			if s == nil || s.Kind != spec.Object {
				continue
			}
			x := s.Get("x-gateway").Deref()
			has := func(k string) bool {
				if x == nil {
					return false
				}
				v, ok := x.Get(k).Str()
				return ok && v != ""
			}
			typ, _ := s.Get("type").Str()
			scheme, _ := s.Get("scheme").Str()
			scheme = strings.ToLower(scheme)
			var missing string
			switch {
			case typ == "apiKey" && !has("keys"):
				missing = "x-gateway.keys"
			case typ == "http" && scheme == "basic" && !has("htpasswd"):
				missing = "x-gateway.htpasswd"
			case (typ == "http" && scheme == "bearer") || typ == "oauth2":
				if !has("jwks_url") {
					missing = "x-gateway.jwks_url"
				}
			case typ == "openIdConnect":
				if url, _ := s.Get("openIdConnectUrl").Str(); url == "" && !has("jwks_url") {
					missing = "openIdConnectUrl or x-gateway.jwks_url"
				}
			case typ == "http" && scheme != "basic" && scheme != "bearer":
				p.Reportf(pr.Key, "security scheme %q is http %s, which gwc serve does not check: operations that can only use it are refused", pr.Key.Value, scheme)
				continue
			}
			if missing != "" {
				p.Reportf(pr.Key, "security scheme %q has no %s: gwc serve cannot check it, and refuses proxied operations that can only use it", pr.Key.Value, missing)
			}
		}
	},
}
