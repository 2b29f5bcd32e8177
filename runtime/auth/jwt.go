package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/maypok86/otter/v2"
	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// JWT settings that are not in the bundle.
const (
	// DefaultClockSkew is the tolerance on exp, nbf and iat.
	DefaultClockSkew = 30 * time.Second
	// keysTTL is how long a fetched key set is used before it is fetched
	// again on the next request that needs it.
	keysTTL = 5 * time.Minute
	// minRefetch bounds the fetches an unknown kid causes: at most one per
	// minRefetch, however many tokens name kids the set does not have.
	minRefetch = 10 * time.Second
	// fetchTimeout bounds one key set or discovery fetch.
	fetchTimeout = 5 * time.Second
	// maxKeySetBytes bounds a key set or discovery document.
	maxKeySetBytes = 1 << 20
)

// asymmetric are the algorithms accepted when a scheme lists none: every
// public-key algorithm, so that a key set's public key can never verify an
// HMAC ("HS256 signed with the RS256 public key"), and never "none".
var asymmetric = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// jwtScheme checks bearer tokens (http bearer, oauth2, openIdConnect) signed
// by a key of the scheme's JWKS, with go-jose (github.com/go-jose/go-jose/v4):
// the algorithm allow-list, the key named by kid, iss, aud, exp (required),
// nbf and iat with a small clock skew, and the requirement's scopes against
// the token's scope or scp claim.
type jwtScheme struct {
	name      string
	issuer    string
	audiences []string
	algs      []jose.SignatureAlgorithm
	skew      time.Duration
	chall     string
	keys      *keySource
	now       func() time.Time
	// verified remembers tokens whose signature checked out, by SHA-256
	// digest, for keysTTL: a client reuses its token for many calls, and
	// an RSA verification costs tens of microseconds. Times and scopes are
	// checked again on every use.
	verified *otter.Cache[[sha256.Size]byte, *verifiedToken]
}

type verifiedToken struct {
	std    jwt.Claims
	claims Claims
}

// maxVerifiedTokens bounds the verified-token cache per scheme.
const maxVerifiedTokens = 100_000

// Claims are a verified token's claims, for transforms and limits.
type Claims map[string]any

func newJWT(sc *bundle.SecurityScheme, client *http.Client) (*jwtScheme, error) {
	j := &jwtScheme{name: sc.Name, issuer: sc.Issuer, audiences: sc.Audiences, skew: sc.ClockSkew.D(), now: time.Now,
		chall: fmt.Sprintf(`Bearer realm="%s"`, sc.Name)}
	if j.skew <= 0 {
		j.skew = DefaultClockSkew
	}
	if len(sc.Algorithms) == 0 {
		j.algs = asymmetric
	}
	for _, a := range sc.Algorithms {
		alg := jose.SignatureAlgorithm(a)
		if strings.EqualFold(a, "none") {
			return nil, fmt.Errorf("algorithm none is never accepted")
		}
		if strings.HasPrefix(a, "HS") {
			// A JWKS holds public keys: an HMAC algorithm could only ever be
			// verified with one of them as the secret, which is the attack.
			return nil, fmt.Errorf("algorithm %s needs a shared secret, which a JWKS does not hold; list public-key algorithms", a)
		}
		if !slices.Contains(asymmetric, alg) {
			return nil, fmt.Errorf("unknown algorithm %q", a)
		}
		j.algs = append(j.algs, alg)
	}
	j.keys = &keySource{jwksURL: sc.JWKSURL, discovery: sc.OpenIDConnectURL, client: client, now: time.Now}
	j.verified = otter.Must(&otter.Options[[sha256.Size]byte, *verifiedToken]{MaximumSize: maxVerifiedTokens,
		ExpiryCalculator: otter.ExpiryCreating[[sha256.Size]byte, *verifiedToken](keysTTL)})
	return j, nil
}

func (j *jwtScheme) Check(ctx *fasthttp.RequestCtx, scopes []string, id *Identity) Result {
	v := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(v) < 7 || !bytes.EqualFold(v[:7], []byte("bearer ")) {
		return Missing
	}
	raw := bytes.TrimSpace(v[7:])
	digest := sha256.Sum256(raw)
	vt, hit := j.verified.GetIfPresent(digest)
	if !hit {
		tok, err := jwt.ParseSigned(string(raw), j.algs)
		if err != nil || len(tok.Headers) != 1 {
			return Invalid
		}
		h := tok.Headers[0]
		key, err := j.keys.key(context.Background(), h.KeyID, h.Algorithm)
		if err != nil {
			return Invalid
		}
		vt = &verifiedToken{claims: Claims{}}
		if err := tok.Claims(key, &vt.std, &vt.claims); err != nil {
			return Invalid
		}
	}
	std, all := vt.std, vt.claims
	if std.Expiry == nil {
		return Invalid
	}
	iss := j.issuer
	if iss == "" && j.keys.discovery != "" {
		// An OpenID provider's tokens carry the issuer it announces.
		if iss = j.keys.issuer(); iss == "" {
			return Invalid
		}
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: j.audiences, Time: j.now()}, j.skew); err != nil {
		return Invalid
	}
	if !hit {
		j.verified.Set(digest, vt)
	}
	id.Client = std.Subject
	if id.Client == "" {
		id.Client, _ = all["client_id"].(string)
	}
	id.Claims = all
	for _, want := range scopes {
		if !hasScope(all, want) {
			return NoScope
		}
	}
	return Passed
}

// hasScope reports whether the token grants scope: "scope" is a
// space-separated string (RFC 8693, OAuth 2.0), "scp" a list or a string.
func hasScope(c Claims, scope string) bool {
	for _, name := range []string{"scope", "scp"} {
		switch v := c[name].(type) {
		case string:
			if slices.Contains(strings.Fields(v), scope) {
				return true
			}
		case []any:
			for _, s := range v {
				if s == scope {
					return true
				}
			}
		}
	}
	return false
}

func (j *jwtScheme) Challenge() string { return j.chall }

// Strip leaves a bearer token in place: upstreams commonly read its claims
// or verify it again themselves.
func (j *jwtScheme) Strip(*fasthttp.Request) {}

// keySource fetches and caches a JWKS, from its URL or from the jwks_uri of
// an OpenID Connect discovery document. It fetches when it has no set, when
// its set is older than keysTTL, and when a token names a kid the set does
// not have (a rotated key) — never more than once per minRefetch, however
// many tokens ask, and one fetch at a time. A request whose key is in the
// set never waits for a fetch; one whose key is not waits for the fetch in
// flight. A set that cannot be fetched again stays in use.
type keySource struct {
	jwksURL, discovery string
	client             *http.Client
	now                func() time.Time

	mu        sync.Mutex
	set       *jose.JSONWebKeySet
	fetched   time.Time     // when set was fetched
	attempted time.Time     // the last fetch started, successful or not
	inflight  chan struct{} // closed when the fetch in flight ends
	iss       string        // the discovery document's issuer
}

var errNoKey = errors.New("no key for the token")

// key returns the public key kid names that may verify alg.
func (k *keySource) key(ctx context.Context, kid, alg string) (any, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	found := pick(k.set, kid, alg)
	stale := k.set == nil || now.Sub(k.fetched) > keysTTL
	if found != nil && !stale {
		return found, nil
	}
	if k.inflight == nil && (k.attempted.IsZero() || now.Sub(k.attempted) >= minRefetch) {
		k.attempted = now
		done := make(chan struct{})
		k.inflight = done
		go func() {
			set, iss, err := k.fetch()
			k.mu.Lock()
			if err == nil {
				k.set, k.iss, k.fetched = set, iss, k.now()
			}
			k.inflight = nil
			k.mu.Unlock()
			close(done)
		}()
	}
	if found != nil {
		return found, nil // a stale set still verifies while it is refreshed
	}
	if wait := k.inflight; wait != nil {
		k.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
		}
		k.mu.Lock()
		found = pick(k.set, kid, alg)
	}
	if found == nil {
		return nil, errNoKey
	}
	return found, nil
}

// pick finds the public key for kid and alg; with no kid, the only key that
// fits alg.
func pick(set *jose.JSONWebKeySet, kid, alg string) any {
	if set == nil {
		return nil
	}
	var found any
	n := 0
	for _, key := range set.Keys {
		if (kid != "" && key.KeyID != kid) || (key.Use != "" && key.Use != "sig") || (key.Algorithm != "" && key.Algorithm != alg) ||
			!key.IsPublic() || !key.Valid() || !fits(key.Key, alg) {
			continue
		}
		found = key.Key
		n++
	}
	if n != 1 {
		return nil
	}
	return found
}

// fits reports whether a public key is of the type alg verifies with.
func fits(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// fetch gets the key set, through discovery when there is no jwks_url.
func (k *keySource) fetch() (*jose.JSONWebKeySet, string, error) {
	ctx := context.Background()
	url, iss := k.jwksURL, ""
	if url == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := k.get(ctx, k.discovery, &doc); err != nil {
			return nil, "", fmt.Errorf("OpenID Connect discovery: %w", err)
		}
		if doc.JWKSURI == "" || doc.Issuer == "" {
			return nil, "", fmt.Errorf("OpenID Connect discovery %s has no jwks_uri or no issuer", k.discovery)
		}
		iss, url = doc.Issuer, doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := k.get(ctx, url, &set); err != nil {
		return nil, "", err
	}
	return &set, iss, nil
}

func (k *keySource) get(ctx context.Context, url string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxKeySetBytes {
		return fmt.Errorf("GET %s: larger than %d bytes", url, maxKeySetBytes)
	}
	return json.Unmarshal(data, into)
}

func (k *keySource) issuer() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.iss
}
