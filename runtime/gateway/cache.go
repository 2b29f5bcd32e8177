package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/cache"
	"github.com/gwcdev/gwc/runtime/header"
)

// DefaultCacheBytes is the memory budget of the response cache.
const DefaultCacheBytes = 64 << 20

// maxCachedBody is the largest response body stored; a larger one is
// streamed to its client and not kept.
const maxCachedBody = 1 << 20

// responseCache is a bundle's cache store and the calls in flight.
type responseCache struct {
	store  cache.Store
	flight singleflight.Group
	// hit, miss and bypass count answers; errors failed store calls.
	hit, miss, bypass, errors prometheus.Counter
}

// cachePolicy is an operation's cache, compiled.
type cachePolicy struct {
	ttl    time.Duration
	vary   []string // header names
	shared bool
	rc     *responseCache
	// owned names, in lower case, the request fields gwc sets, changes or
	// removes on the way upstream: an answer whose Vary names one of them
	// varies on what the client did not send, and is not kept.
	owned map[string]bool
}

func newCachePolicy(c *bundle.Cache, rc *responseCache) *cachePolicy {
	p := &cachePolicy{ttl: c.TTL.D(), shared: c.Shared, rc: rc}
	for _, v := range c.Vary {
		p.vary = append(p.vary, strings.ToLower(v))
	}
	slices.Sort(p.vary)
	return p
}

// key is what an answer depends on: method, the Host the client asked for
// and its scheme (both forwarded, as X-Forwarded-Host and -Proto, and an
// upstream may build links or choose a tenant from them), normalised path,
// the query with its parameters in order, the vary headers, and — unless
// the cache is shared — who asked, so that one client never sees another's
// answer. It is the hex SHA-256 of those, in r's key buffer: valid until the
// buffer is used again, so a caller that keeps it clones it.
func (p *cachePolicy) key(r *request) string {
	b := append(r.keyBuf[:0], r.ctx.Request.Header.Method()...)
	b = append(b, 0)
	if r.ctx.IsTLS() {
		b = append(b, 's')
	}
	for _, c := range r.ctx.Request.Header.Host() {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A' // host names are not case-sensitive
		}
		b = append(b, c)
	}
	b = append(append(append(append(b, 0), r.op.op.ID...), 0), r.path...)
	b = append(b, 0)
	var argsBuf [16][2][]byte
	args := argsBuf[:0]
	for k, v := range r.ctx.URI().QueryArgs().All() {
		args = append(args, [2][]byte{k, v})
	}
	slices.SortStableFunc(args, func(a, b [2][]byte) int { return bytes.Compare(a[0], b[0]) })
	for _, kv := range args {
		b = append(append(append(append(b, kv[0]...), '='), kv[1]...), '&')
	}
	for _, name := range p.vary {
		b = append(append(append(b, 0), name...), ':')
		for _, v := range r.ctx.Request.Header.PeekAll(name) {
			b = append(append(b, v...), ',')
		}
	}
	b = append(b, 0)
	if !p.shared {
		b = append(append(append(b, r.identity.Scheme...), 0), r.identity.Client...)
	}
	sum := sha256.Sum256(b)
	b = hex.AppendEncode(b[:0], sum[:])
	r.keyBuf = b
	return b2s(b)
}

// serveCached answers a GET or HEAD from the cache, or forwards it once for
// every concurrent miss of its key and keeps the answer when it may.
func (o *operation) serveCached(r *request) {
	p := o.cache
	if p.sharedWith(r) && len(r.ctx.Request.Header.PeekCanonical(header.Authorization)) > 0 {
		// RFC 9111 §3.5: an answer to a request with Authorization is
		// kept for others only when it says so; such a request is not
		// answered from what others were answered either (a per-user
		// answer is what it asks for).
		key := strings.Clone(p.key(r)) // forward rewrites the request
		o.forward(r)
		if e := p.capture(r); e != nil && e.public {
			if err := p.rc.store.Set(context.Background(), key, e.Entry); err != nil {
				p.rc.errors.Inc()
			}
		}
		p.rc.bypass.Inc()
		return
	}
	key := p.key(r) // r's buffer: cloned below before anything keeps it
	ctx := context.Background()
	e, ok, err := p.rc.store.Get(ctx, key)
	if err != nil {
		p.rc.errors.Inc()
		p.rc.bypass.Inc()
		o.forward(r)
		return
	}
	if ok && varyMatches(e, r) {
		p.rc.hit.Inc()
		r.writeEntry(e, "HIT")
		return
	}
	key = strings.Clone(key) // the flight and the store keep it
	leader := false
	v, _, _ := p.rc.flight.Do(key, func() (any, error) {
		leader = true
		o.forward(r)
		c := p.capture(r)
		if c == nil {
			return (*cache.Entry)(nil), nil
		}
		if err := p.rc.store.Set(ctx, key, c.Entry); err != nil {
			p.rc.errors.Inc()
		}
		return c.Entry, nil
	})
	if leader {
		p.rc.miss.Inc()
		r.ctx.Response.Header.Set("X-Cache", "MISS")
		return
	}
	if e, _ := v.(*cache.Entry); e != nil && varyMatches(e, r) {
		// Another request's upstream call answered this one too.
		p.rc.hit.Inc()
		r.writeEntry(e, "HIT")
		return
	}
	// That answer could not be kept: ask for this request's own.
	p.rc.bypass.Inc()
	o.forward(r)
}

// sharedWith reports whether r's answer would be kept under a key other
// clients' requests share: the operation's cache is shared, or gwc did not
// authenticate r (all anonymous requests share their keys).
func (p *cachePolicy) sharedWith(r *request) bool { return p.shared || r.identity.Client == "" }

// captured is an answer that may be kept; public says its Cache-Control
// lets a shared cache keep it even for a request with Authorization
// (public, s-maxage or must-revalidate: RFC 9111 §3.5).
type captured struct {
	*cache.Entry
	public bool
}

// varyMatches reports whether e, kept for a request whose fields its
// answer's Vary names had the values e.Vary holds, answers r: r has the same
// values (missing fields being empty).
func varyMatches(e *cache.Entry, r *request) bool {
	var buf [256]byte
	for _, kv := range e.Vary {
		if string(joinValues(buf[:0], r, kv[0])) != kv[1] {
			return false
		}
	}
	return true
}

// joinValues appends the values of r's field name, comma-separated.
func joinValues(dst []byte, r *request, name string) []byte {
	for i, v := range r.ctx.Request.Header.PeekAll(name) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, v...)
	}
	return dst
}

// capture makes an entry of the upstream's answer when it may be kept:
// a 2xx other than 206, no Cache-Control no-store or private, no Set-Cookie,
// no Vary: *, and a body of at most maxCachedBody. The answer is left
// whole for its own client either way.
func (p *cachePolicy) capture(r *request) *captured {
	if r.reason != "" { // gwc answered: the upstream failed
		return nil
	}
	resp := &r.ctx.Response
	st := resp.StatusCode()
	if st < 200 || st > 299 || st == fasthttp.StatusPartialContent {
		return nil
	}
	cc := strings.ToLower(string(resp.Header.Peek("Cache-Control")))
	if strings.Contains(cc, "no-store") || strings.Contains(cc, "private") || len(resp.Header.Peek("Set-Cookie")) > 0 ||
		strings.TrimSpace(string(resp.Header.Peek("Vary"))) == "*" {
		return nil
	}
	var body []byte
	if resp.IsBodyStream() {
		if cl := resp.Header.ContentLength(); cl > maxCachedBody {
			return nil
		}
		s := resp.BodyStream()
		data, err := io.ReadAll(io.LimitReader(s, maxCachedBody+1))
		if err != nil {
			resp.SetBodyStream(io.MultiReader(bytes.NewReader(data), s), -1)
			return nil
		}
		if len(data) > maxCachedBody {
			// Too big to keep: the client still gets all of it.
			resp.SetBodyStream(io.MultiReader(bytes.NewReader(data), s), resp.Header.ContentLength())
			return nil
		}
		if c, ok := s.(io.Closer); ok {
			c.Close() //nolint:errcheck // read to its end; closing returns the connection
		}
		resp.SetBody(data)
		body = data
	} else {
		body = append([]byte(nil), resp.Body()...)
	}
	c := &captured{Entry: &cache.Entry{Status: st, Body: body, Stored: time.Now(), TTL: p.ttl},
		public: directive(cc, "public") || directive(cc, "s-maxage") || directive(cc, "must-revalidate")}
	e := c.Entry
	for k, v := range resp.Header.All() {
		switch strings.ToLower(string(k)) {
		case "content-length", "transfer-encoding", "date", "connection", "x-request-id", "x-cache", "age", "content-type":
			continue
		}
		e.Header = append(e.Header, [2]string{string(k), string(v)})
	}
	if ct := resp.Header.ContentType(); len(ct) > 0 {
		e.Header = append(e.Header, [2]string{"Content-Type", string(ct)})
	}
	// The upstream's Vary: the entry answers only requests like this one in
	// the fields it names, as their clients sent them.
	for _, v := range resp.Header.PeekAll("Vary") {
		for _, name := range strings.Split(string(v), ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name == "" {
				continue
			}
			if p.owned[name] {
				return nil
			}
			e.Vary = append(e.Vary, [2]string{name, string(joinValues(nil, r, name))})
		}
	}
	return c
}

// directive reports whether a lower-case Cache-Control value has the
// directive name (alone or with an argument).
func directive(cc, name string) bool {
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		if d == name || strings.HasPrefix(d, name+"=") {
			return true
		}
	}
	return false
}

// writeEntry answers with a stored response.
func (r *request) writeEntry(e *cache.Entry, how string) {
	resp := &r.ctx.Response
	resp.Reset()
	resp.SetStatusCode(e.Status)
	for _, kv := range e.Header {
		resp.Header.Add(kv[0], kv[1])
	}
	age := max(int64(time.Since(e.Stored).Seconds()), 0)
	resp.Header.Set("Age", strconv.FormatInt(age, 10))
	resp.Header.Set("X-Cache", how)
	resp.SetBody(e.Body)
	r.reason = "cache"
}
