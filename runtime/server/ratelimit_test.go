package server

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/ratelimit/redistest"
)

// startRedis is a real redis-server on a free loopback port, stopped when
// the test ends; it can be stopped and started again on the same port.
func startRedis(t *testing.T) *redistest.Server { return redistest.Start(t) }

// limitBundle has one operation limited to n requests per minute by ip, one
// by API key client, and the store on Redis when redisURL is set.
func limitBundle(t *testing.T, target string, n int64, redisURL, onError string) *bundle.Bundle {
	t.Helper()
	t.Setenv("GWC_TEST_LIMIT_KEYS", "a:key-a,b:key-b")
	b := mainBundle("Limits", target)
	if redisURL != "" {
		t.Setenv("GWC_TEST_REDIS_URL", redisURL)
		b.Store = &bundle.Store{Redis: &bundle.Redis{URL: "env:GWC_TEST_REDIS_URL", OnError: onError}}
	}
	b.SecuritySchemes = []bundle.SecurityScheme{{Name: "key", Type: "apiKey", In: "header", ParamName: "X-Key", Keys: "env:GWC_TEST_LIMIT_KEYS"}}
	perMinute := bundle.Duration(time.Minute)
	addOp(b, bundle.Operation{ID: "byIP", Method: "GET", Path: "/ip", Public: true, Policy: bundle.Policy{Upstream: "main",
		RateLimit: &bundle.RateLimit{Name: "per-ip", Requests: n, Per: perMinute, Burst: n, Key: "ip"}}})
	addOp(b, bundle.Operation{ID: "byClient", Method: "GET", Path: "/client", Policy: bundle.Policy{Upstream: "main",
		RateLimit: &bundle.RateLimit{Name: "per-client", Requests: n, Per: perMinute, Burst: n, Key: "client"}},
		Security: []bundle.Requirement{{Schemes: []bundle.SchemeRequirement{{Scheme: "key"}}}}})
	return b
}

var rateLimitField = regexp.MustCompile(`^"per-ip";r=(\d+);t=(\d+)$`)

func TestRateLimitMemory(t *testing.T) {
	up := newUpstream(t, nil)
	ts := startServer(t, staticLoad(limitBundle(t, up.URL, 3, "", "")))
	for i := range 3 {
		resp, body := do(t, "GET", ts.base+"/api/ip", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
		m := rateLimitField.FindStringSubmatch(resp.Header.Get("RateLimit"))
		if m == nil || m[1] != strconv.Itoa(2-i) || resp.Header.Get("RateLimit-Policy") != `"per-ip";q=3;w=60` {
			t.Errorf("request %d: RateLimit %q, RateLimit-Policy %q", i+1, resp.Header.Get("RateLimit"), resp.Header.Get("RateLimit-Policy"))
		}
	}
	calls := up.count()
	resp, body := do(t, "GET", ts.base+"/api/ip", nil)
	if p := problemOf(t, resp, body); resp.StatusCode != 429 || p["type"] != "https://gwc.dev/problems/rate-limited" {
		t.Fatalf("4th request: %d %s", resp.StatusCode, body)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
		t.Errorf("Retry-After %q, want about 20 s (one request per 20 s)", resp.Header.Get("Retry-After"))
	}
	if m := rateLimitField.FindStringSubmatch(resp.Header.Get("RateLimit")); m == nil || m[1] != "0" {
		t.Errorf("429 RateLimit %q", resp.Header.Get("RateLimit"))
	}
	if up.count() != calls {
		t.Error("a limited request reached the upstream")
	}

	// Keyed by client: each API key's client has its own budget.
	for _, key := range []string{"key-a", "key-a", "key-a", "key-b"} {
		if resp, body := do(t, "GET", ts.base+"/api/client", nil, "X-Key", key); resp.StatusCode != 200 {
			t.Fatalf("client %s: %d %s", key, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, "GET", ts.base+"/api/client", nil, "X-Key", "key-a"); resp.StatusCode != 429 {
		t.Errorf("client a's 4th request: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", ts.base+"/api/client", nil, "X-Key", "key-b"); resp.StatusCode != 200 {
		t.Errorf("client b's 2nd request: %d", resp.StatusCode)
	}
}

// TestRateLimitRedis: two gateways sharing one Redis hold one combined
// limit; with Redis stopped the declared fail mode holds; with Redis back,
// limits work again without a restart.
func TestRateLimitRedis(t *testing.T) {
	rs := startRedis(t)
	up := newUpstream(t, nil)
	one := startServer(t, staticLoad(limitBundle(t, up.URL, 5, rs.URL(), "open")))
	two := startServer(t, staticLoad(limitBundle(t, up.URL, 5, rs.URL(), "open")))
	allowed := 0
	for i := range 10 {
		base := one.base
		if i%2 == 1 {
			base = two.base
		}
		resp, body := do(t, "GET", base+"/api/ip", nil)
		switch resp.StatusCode {
		case 200:
			allowed++
		case 429:
		default:
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	if allowed != 5 {
		t.Errorf("two replicas let %d of 10 requests through a shared limit of 5", allowed)
	}
	// A gwc started afresh on the same Redis finds the budget spent: a
	// quota survives restarts.
	one.stop(t)
	fresh := startServer(t, staticLoad(limitBundle(t, up.URL, 5, rs.URL(), "open")))
	if resp, _ := do(t, "GET", fresh.base+"/api/ip", nil); resp.StatusCode != 429 {
		t.Errorf("a restarted gwc forgot the spent budget: %d", resp.StatusCode)
	}
	one = fresh

	// Redis stops: on_error open lets traffic through, counted in a metric.
	rs.Stop()
	for i := range 3 {
		if resp, body := do(t, "GET", one.base+"/api/ip", nil); resp.StatusCode != 200 {
			t.Errorf("Redis down, fail-open, request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	metrics := get(t, "http://"+one.AdminAddr().String()+"/metrics")
	if !strings.Contains(metrics, `gwc_store_errors_total{action="allowed",use="rate_limit"} 3`) {
		t.Errorf("store errors not counted:\n%s", grepLines(metrics, "gwc_store_errors"))
	}
	if !strings.Contains(one.logs.String(), "rate limit store failed; letting requests through (on_error: open)") {
		t.Errorf("no log of the failure:\n%s", one.logs.String())
	}

	// A fail-closed gateway refuses while Redis is down.
	closed := startServer(t, staticLoad(limitBundle(t, up.URL, 5, rs.URL(), "closed")))
	resp, body := do(t, "GET", closed.base+"/api/ip", nil)
	if p := problemOf(t, resp, body); resp.StatusCode != 503 || p["type"] != "https://gwc.dev/problems/rate-limit-unavailable" {
		t.Errorf("Redis down, fail-closed: %d %s", resp.StatusCode, body)
	}

	// Redis is back (empty: it kept nothing): limits hold again, no restart.
	rs.Start()
	allowed = 0
	for range 8 {
		resp, body := do(t, "GET", closed.base+"/api/ip", nil)
		switch resp.StatusCode {
		case 200:
			allowed++
		case 429:
		default:
			t.Fatalf("Redis back: %d %s", resp.StatusCode, body)
		}
	}
	if allowed != 5 {
		t.Errorf("with Redis back, %d of 8 requests went through a limit of 5", allowed)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
