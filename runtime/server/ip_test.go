package server

import (
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

func TestIPRules(t *testing.T) {
	up := newUpstream(t, nil)
	b := mainBundle("IP", up.URL)
	b.TrustedProxies = []string{"127.0.0.1"}
	addOp(b, bundle.Operation{ID: "office", Method: "GET", Path: "/office", Public: true,
		Policy: bundle.Policy{Upstream: "main", IP: &bundle.IPRules{Allow: []string{"10.0.0.0/8"}, Deny: []string{"10.6.6.0/24"}}}})
	addOp(b, bundle.Operation{ID: "blocklist", Method: "GET", Path: "/blocklist", Public: true,
		Policy: bundle.Policy{Upstream: "main", IP: &bundle.IPRules{Deny: []string{"192.0.2.1"}}}})
	ts := startServer(t, staticLoad(b))
	for _, c := range []struct {
		path, xff string
		status    int
	}{
		// The test client is 127.0.0.1, a trusted proxy: X-Forwarded-For
		// names the client.
		{"/api/office", "10.1.2.3", 200},
		{"/api/office", "10.6.6.7", 403},
		{"/api/office", "203.0.113.5", 403},
		{"/api/office", "", 403}, // the proxy itself: not in allow
		// A forged entry before the real one does not help: the last entry
		// not added by a trusted proxy is the client.
		{"/api/office", "10.1.2.3, 203.0.113.5", 403},
		{"/api/blocklist", "192.0.2.1", 403},
		{"/api/blocklist", "192.0.2.2", 200},
	} {
		var hdr []string
		if c.xff != "" {
			hdr = []string{"X-Forwarded-For", c.xff}
		}
		resp, body := do(t, "GET", ts.base+c.path, nil, hdr...)
		if resp.StatusCode != c.status {
			t.Errorf("%s from %q: %d, want %d: %s", c.path, c.xff, resp.StatusCode, c.status, body)
		}
	}

	// Without trusted proxies, X-Forwarded-For is the client's own claim and
	// is not believed.
	b.TrustedProxies = nil
	plain := startServer(t, staticLoad(b))
	if resp, _ := do(t, "GET", plain.base+"/api/office", nil, "X-Forwarded-For", "10.1.2.3"); resp.StatusCode != 403 {
		t.Errorf("untrusted X-Forwarded-For believed: %d", resp.StatusCode)
	}
}
