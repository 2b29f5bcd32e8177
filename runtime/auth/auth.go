// Package auth checks the security requirements of a bundle's operations
// with OpenAPI's own semantics: an operation's requirement is a list of
// alternatives, any of which may pass (OR); an alternative names schemes
// that must all pass (AND). Schemes are compiled once per bundle load from
// components.securitySchemes and their x-gateway settings; their secrets
// (API keys, htpasswd files) are read then, from env: and file: references,
// so a reload (SIGHUP) picks up rotated secrets.
//
// A scheme the runtime cannot check — no keys configured for an apiKey
// scheme, or a type not implemented yet — makes the alternatives that name
// it unable to pass; an operation none of whose alternatives can pass is
// reported by Policy.Checkable, and the gateway refuses or flags it rather
// than serving it unchecked.
package auth

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// Identity is who a request was authenticated as.
type Identity struct {
	// Client names the caller: an API key's client, a basic-auth user.
	Client string
	// Scheme is the security scheme that named the client.
	Scheme string
	// Claims are a verified token's claims, shared with the next requests
	// that present the same token: read them, never change them. Nil for
	// other schemes.
	Claims Claims
}

// Result is a scheme's verdict on one request.
type Result uint8

const (
	// Missing: the request carries no credential for the scheme.
	Missing Result = iota
	// Invalid: it carries one, and it is wrong.
	Invalid
	// Passed: the credential is good; Identity is filled in.
	Passed
	// NoScope: the credential is good but lacks a required scope.
	NoScope
)

// Scheme checks one security scheme.
type Scheme interface {
	// Check looks at the request's credential for the scheme and, when it
	// passes, fills in id. scopes are the requirement's.
	Check(ctx *fasthttp.RequestCtx, scopes []string, id *Identity) Result
	// Challenge is the WWW-Authenticate challenge of a 401 for the scheme.
	Challenge() string
	// Strip removes the scheme's credential from a request going upstream,
	// so that the API's keys and passwords stay at the gateway.
	Strip(req *fasthttp.Request)
}

// Resolver reads the secret a reference names.
type Resolver func(ref bundle.SecretRef) ([]byte, error)

// ResolveSecret reads env:NAME from the environment (it must be set and not
// empty) and file:PATH from the file system (relative to the working
// directory).
func ResolveSecret(ref bundle.SecretRef) ([]byte, error) {
	kind, v := ref.Kind()
	switch kind {
	case "env":
		s, ok := os.LookupEnv(v)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", v)
		}
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("environment variable %s is empty", v)
		}
		return []byte(s), nil
	case "file":
		data, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", v, errors.Unwrap(err))
		}
		return data, nil
	}
	return nil, fmt.Errorf("secret reference %q must be env:NAME or file:PATH", string(ref))
}

// keyClient fetches key sets and discovery documents.
var keyClient = &http.Client{Timeout: fetchTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// Schemes are a bundle's compiled security schemes, by name. A scheme the
// runtime cannot check is absent, with the reason in Unchecked.
type Schemes struct {
	by map[string]Scheme
	// Unchecked says, by scheme name, why a declared scheme cannot be
	// checked by this runtime.
	Unchecked map[string]string
}

// Options are what Compile needs from around it.
type Options struct {
	// Resolve reads secrets; nil is ResolveSecret.
	Resolve Resolver
	// ClientCerts says the listener checks client certificates against a
	// CA (gwc serve --tls-client-ca), without which mutualTLS cannot pass.
	ClientCerts bool
}

// Compile builds the schemes of b, reading their secrets. An error names
// the scheme and what is wrong with its secret.
func Compile(b *bundle.Bundle, o Options) (*Schemes, error) {
	resolve := o.Resolve
	if resolve == nil {
		resolve = ResolveSecret
	}
	s := &Schemes{by: map[string]Scheme{}, Unchecked: map[string]string{}}
	for i := range b.SecuritySchemes {
		sc := &b.SecuritySchemes[i]
		var (
			c   Scheme
			why string
			err error
		)
		switch {
		case sc.Type == "apiKey" && sc.Keys == "":
			why = "apiKey scheme without x-gateway.keys"
		case sc.Type == "apiKey":
			c, err = newAPIKey(sc, resolve)
		case sc.Type == "http" && sc.Scheme == "basic" && sc.Htpasswd == "":
			why = "http basic scheme without x-gateway.htpasswd"
		case sc.Type == "http" && sc.Scheme == "basic":
			c, err = newBasic(sc, resolve)
		case (sc.Type == "http" && sc.Scheme == "bearer") || sc.Type == "oauth2" || sc.Type == "openIdConnect":
			if sc.JWKSURL == "" && (sc.Type != "openIdConnect" || sc.OpenIDConnectURL == "") {
				why = sc.Type + " scheme without x-gateway.jwks_url"
				if sc.Type == "openIdConnect" {
					why = "openIdConnect scheme without openIdConnectUrl or x-gateway.jwks_url"
				}
				break
			}
			c, err = newJWT(sc, keyClient)
		case sc.Type == "mutualTLS" && !o.ClientCerts:
			why = "mutualTLS scheme, and gwc serve was started without --tls-client-ca"
		case sc.Type == "mutualTLS":
			c = mutualTLS{name: sc.Name}
		default:
			why = sc.Type + " schemes are not checked by this runtime yet"
			if sc.Type == "http" {
				why = "http " + sc.Scheme + " schemes are not checked by this runtime yet"
			}
		}
		if err != nil {
			return nil, fmt.Errorf("security scheme %s: %w", sc.Name, err)
		}
		if c == nil {
			s.Unchecked[sc.Name] = why
			continue
		}
		s.by[sc.Name] = c
	}
	return s, nil
}

// Clients names the clients the schemes' secrets list (API key clients,
// htpasswd users): a bounded set, unlike token subjects.
func (s *Schemes) Clients() []string {
	seen := map[string]bool{}
	var out []string
	for _, sc := range s.by {
		var names []string
		switch c := sc.(type) {
		case *apiKey:
			for _, name := range c.keys {
				names = append(names, name)
			}
		case *basic:
			for name := range c.users {
				names = append(names, name)
			}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Policy is one operation's security requirement, compiled.
type Policy struct {
	alts [][]check
	// unchecked names the schemes that keep alternatives from passing.
	unchecked []string
	// challenges are the WWW-Authenticate values of a 401, one per scheme.
	challenges []string
	// keys are the API key schemes the alternatives name, once each, for
	// Duplicate.
	keys []*apiKey
}

type check struct {
	name   string
	scheme Scheme
	scopes []string
}

// Policy compiles an operation's requirement alternatives. Alternatives that
// name a scheme the runtime cannot check are dropped: they can never pass.
func (s *Schemes) Policy(reqs []bundle.Requirement) *Policy {
	p := &Policy{}
	seenChallenge := map[string]bool{}
	unchecked := map[string]bool{}
	for _, req := range reqs {
		var alt []check
		ok := true
		for _, sr := range req.Schemes {
			sc := s.by[sr.Scheme]
			if sc == nil {
				unchecked[sr.Scheme] = true
				ok = false
				continue
			}
			alt = append(alt, check{name: sr.Scheme, scheme: sc, scopes: sr.Scopes})
		}
		if !ok {
			continue
		}
		for _, c := range alt {
			if ch := c.scheme.Challenge(); ch != "" && !seenChallenge[ch] {
				seenChallenge[ch] = true
				p.challenges = append(p.challenges, ch)
			}
			if k, ok := c.scheme.(*apiKey); ok && !slices.Contains(p.keys, k) {
				p.keys = append(p.keys, k)
			}
		}
		p.alts = append(p.alts, alt)
	}
	for name := range unchecked {
		p.unchecked = append(p.unchecked, name)
	}
	sort.Strings(p.unchecked)
	return p
}

// Duplicate names a credential the request gives more than once where a
// scheme of p reads it (an API key in its header, query parameter or
// cookie), "" when there is none. Such a request is refused before any
// check: one copy would be checked and the other forwarded. Authorization,
// which every request may carry, is counted by the gateway for all.
func (p *Policy) Duplicate(req *fasthttp.Request) string {
	for _, k := range p.keys {
		if k.given(req) > 1 {
			return k.in + " " + k.name
		}
	}
	return ""
}

// Checkable reports whether some alternative can pass.
func (p *Policy) Checkable() bool { return len(p.alts) > 0 }

// Unchecked names the schemes this runtime cannot check that the
// requirement names.
func (p *Policy) Unchecked() []string { return p.unchecked }

// Challenges are the WWW-Authenticate values to send with a 401.
func (p *Policy) Challenges() []string { return p.challenges }

// Decision is the outcome of a policy on a request.
type Decision uint8

const (
	// Allow: an alternative passed.
	Allow Decision = iota
	// Unauthenticated: no alternative passed and none was short of scopes
	// only: 401.
	Unauthenticated
	// Insufficient: a credential was good but lacked a required scope: 403.
	Insufficient
)

// Waits reports whether checking p may wait on something other than the
// CPU for long: the network (a JWKS or discovery fetch) or a deliberately
// slow hash (bcrypt). API keys and client certificates are checked from
// memory. An event loop runs only requirements that do not wait.
func (p *Policy) Waits() bool {
	for _, alt := range p.alts {
		for _, c := range alt {
			switch c.scheme.(type) {
			case *apiKey, mutualTLS:
			default:
				return true
			}
		}
	}
	return false
}

// Check evaluates the alternatives in order and stops at the first that
// passes; id is the identity of its first scheme that names a client. The
// alternative that passed is returned, for Strip.
func (p *Policy) Check(ctx *fasthttp.RequestCtx, id *Identity) (Decision, int) {
	scoped := false
	for ai, alt := range p.alts {
		var got Identity
		passed := true
		for _, c := range alt {
			one := Identity{Scheme: c.name}
			switch c.scheme.Check(ctx, c.scopes, &one) {
			case Passed:
				if got.Client == "" {
					got = one
				}
				continue
			case NoScope:
				scoped = true
			}
			passed = false
			break
		}
		if passed {
			*id = got
			return Allow, ai
		}
	}
	if scoped {
		return Insufficient, -1
	}
	return Unauthenticated, -1
}

// Fields names, in lower case, the request header fields p's schemes read a
// credential from (Authorization, an API key's header, Cookie).
func (p *Policy) Fields() []string {
	var out []string
	for _, alt := range p.alts {
		for _, c := range alt {
			var f string
			switch sc := c.scheme.(type) {
			case *apiKey:
				switch sc.in {
				case "header":
					f = strings.ToLower(sc.name)
				case "cookie":
					f = "cookie"
				}
			case *basic, *jwtScheme:
				f = "authorization"
			}
			if f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// Strip removes the credentials of alternative alt from req.
func (p *Policy) Strip(req *fasthttp.Request, alt int) {
	if alt < 0 || alt >= len(p.alts) {
		return
	}
	for _, c := range p.alts[alt] {
		c.scheme.Strip(req)
	}
}
