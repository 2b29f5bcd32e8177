package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/problem"
)

// DefaultAuthorizerTimeout bounds an authorizer call whose spec sets none.
const DefaultAuthorizerTimeout = time.Second

// authorizer is an external HTTP authorizer (x-gateway.authorizers), in the
// manner of API Gateway's Lambda authorizers: gwc POSTs what it knows of the
// request as {"input": {...}} — the shape of an OPA server's data API, which
// works as it is — and allows the request when the answer says so.
type authorizer struct {
	name     string
	url      string
	timeout  time.Duration
	forward  []string
	failOpen bool
	client   *http.Client
	// decisions are cached by a digest of everything sent, for cache_ttl.
	decisions *otter.Cache[[sha256.Size]byte, bool]
	lastLog   atomic.Int64 // unix nanos of the last failure logged
}

func newAuthorizer(a *bundle.Authorizer, client *http.Client) *authorizer {
	z := &authorizer{name: a.Name, url: a.URL, timeout: a.Timeout.D(), forward: a.ForwardHeaders,
		failOpen: a.OnError == "allow", client: client}
	if z.timeout <= 0 {
		z.timeout = DefaultAuthorizerTimeout
	}
	if ttl := a.CacheTTL.D(); ttl > 0 {
		z.decisions = otter.Must(&otter.Options[[sha256.Size]byte, bool]{MaximumSize: 100_000,
			ExpiryCalculator: otter.ExpiryCreating[[sha256.Size]byte, bool](ttl)})
	}
	return z
}

// authzInput is what the authorizer is told.
type authzInput struct {
	Method    string            `json:"method"`
	Path      string            `json:"path"`
	Operation string            `json:"operation"`
	Query     string            `json:"query,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Client    string            `json:"client,omitempty"`
	Scheme    string            `json:"scheme,omitempty"`
	Claims    map[string]any    `json:"claims,omitempty"`
	RemoteIP  string            `json:"remote_ip"`
}

// decide asks the authorizer (or its cache) about r.
func (z *authorizer) decide(r *request) (bool, error) {
	in := authzInput{Method: string(r.ctx.Request.Header.Method()), Path: r.path, Operation: r.op.op.ID,
		Query: string(r.ctx.URI().QueryString()), Client: r.identity.Client, Scheme: r.identity.Scheme,
		Claims: r.identity.Claims, RemoteIP: r.clientAddr().String()}
	for _, name := range z.forward {
		if v := r.ctx.Request.Header.Peek(name); len(v) > 0 {
			if in.Headers == nil {
				in.Headers = map[string]string{}
			}
			in.Headers[name] = string(v)
		}
	}
	body, err := json.Marshal(map[string]any{"input": in})
	if err != nil {
		return false, err
	}
	key := sha256.Sum256(body)
	if z.decisions != nil {
		if allow, ok := z.decisions.GetIfPresent(key); ok {
			return allow, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), z.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, z.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := z.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("authorizer answered %s", resp.Status)
	}
	allow, err := allowed(data)
	if err != nil {
		return false, err
	}
	if z.decisions != nil {
		z.decisions.Set(key, allow)
	}
	return allow, nil
}

// allowed reads a decision: {"result": true}, {"result": {"allow": true}}
// (OPA's data API, a boolean rule or a package with an allow rule), or
// {"allow": true}. Anything else — {} when OPA has no such rule — denies.
func allowed(data []byte) (bool, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return false, fmt.Errorf("the authorizer's answer is not a JSON object: %v", err)
	}
	if raw, ok := doc["result"]; ok {
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return b, nil
		}
		doc = nil
		if json.Unmarshal(raw, &doc) != nil {
			return false, nil
		}
	}
	var b bool
	if raw, ok := doc["allow"]; ok && json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	return false, nil
}

// authorize is the chain step: 403 when the authorizer denies; when it
// cannot answer, on_error decides (deny: 503).
func (o *operation) authorize(r *request) bool {
	z := o.authorizer
	allow, err := z.decide(r)
	if err != nil {
		if now := time.Now().UnixNano(); now-z.lastLog.Load() > int64(10*time.Second) {
			z.lastLog.Store(now)
			r.g.log.Warn("authorizer failed", "authorizer", z.name, "operation", o.op.ID, "error", err,
				"on_error", map[bool]string{true: "allow", false: "deny"}[z.failOpen])
		}
		if z.failOpen {
			return true
		}
		r.fail(problem.AuthorizerUnavailable, "authorizer "+z.name+" could not decide: "+strings.TrimSpace(err.Error()), nil)
		r.ctx.Response.Header.Set("Retry-After", "1")
		return false
	}
	if !allow {
		r.fail(problem.Forbidden, "authorizer "+z.name+" denied this request", nil)
		return false
	}
	return true
}
