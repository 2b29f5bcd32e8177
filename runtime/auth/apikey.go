package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/header"
)

// apiKey checks an apiKey scheme: a key in a header, a query parameter or a
// cookie, among the keys its x-gateway.keys reference lists.
//
// Keys are held and looked up by their SHA-256 digest: the time a lookup
// takes depends on the digest of what the client sent, never on how much of
// a real key it guessed, and the process holds no key in the clear after
// load.
type apiKey struct {
	in    string // header, query or cookie
	name  string
	hname []byte                       // name, canonical, for a header
	keys  map[[sha256.Size]byte]string // digest → client
	chall string
}

// newAPIKey reads the scheme's keys: entries separated by commas or
// newlines, each KEY or CLIENT:KEY; a client defaults to "key-" and the
// first 8 hex digits of the key's SHA-256.
func newAPIKey(sc *bundle.SecurityScheme, resolve Resolver) (*apiKey, error) {
	data, err := resolve(sc.Keys)
	if err != nil {
		return nil, fmt.Errorf("keys %s: %w", sc.Keys, err)
	}
	k := &apiKey{in: sc.In, name: sc.ParamName, hname: header.Canonical(sc.ParamName), keys: map[[sha256.Size]byte]string{}}
	entries := strings.FieldsFunc(string(data), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	for n, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		client, key, named := strings.Cut(entry, ":")
		if !named {
			key, client = client, ""
		}
		client, key = strings.TrimSpace(client), strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("keys %s: entry %d has a client name (%q) and no key", sc.Keys, n+1, client)
		}
		d := sha256.Sum256([]byte(key))
		if client == "" {
			client = "key-" + hex.EncodeToString(d[:4])
		}
		if other, dup := k.keys[d]; dup && other != client {
			return nil, fmt.Errorf("keys %s: one key is listed for both %q and %q", sc.Keys, other, client)
		}
		k.keys[d] = client
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("keys %s lists no key", sc.Keys)
	}
	k.chall = fmt.Sprintf(`ApiKey realm="%s", in="%s", name="%s"`, sc.Name, sc.In, sc.ParamName)
	return k, nil
}

func (k *apiKey) credential(req *fasthttp.Request) []byte {
	switch k.in {
	case "header":
		return req.Header.PeekCanonical(k.hname)
	case "query":
		return req.URI().QueryArgs().Peek(k.name)
	default:
		return req.Header.Cookie(k.name)
	}
}

// given counts the copies of the key's parameter in req.
func (k *apiKey) given(req *fasthttp.Request) int {
	n := 0
	switch k.in {
	case "header":
		n = len(req.Header.PeekAll(k.name))
	case "query":
		for name := range req.URI().QueryArgs().All() {
			if string(name) == k.name {
				n++
			}
		}
	default:
		for name := range req.Header.Cookies() {
			if string(name) == k.name {
				n++
			}
		}
	}
	return n
}

func (k *apiKey) Check(ctx *fasthttp.RequestCtx, _ []string, id *Identity) Result {
	v := bytes.TrimSpace(k.credential(&ctx.Request))
	if len(v) == 0 {
		return Missing
	}
	client, ok := k.keys[sha256.Sum256(v)]
	if !ok {
		return Invalid
	}
	id.Client = client
	return Passed
}

func (k *apiKey) Challenge() string { return k.chall }

func (k *apiKey) Strip(req *fasthttp.Request) {
	switch k.in {
	case "header":
		req.Header.Del(k.name)
	case "query":
		args := req.URI().QueryArgs()
		if args.Has(k.name) {
			args.Del(k.name)
			req.URI().SetQueryStringBytes(args.QueryString())
		}
	default:
		req.Header.DelCookie(k.name)
	}
}
