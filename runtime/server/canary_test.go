package server

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// TestWeightedHTTPSCanary: a canary target with weight 1 beside a stable one
// with weight 9 gets one request in ten, exactly (smooth weighted
// round-robin); the canary is https, trusted through the upstream's CA file.
func TestWeightedHTTPSCanary(t *testing.T) {
	var stable, canary atomic.Int32
	st := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { stable.Add(1) }))
	defer st.Close()
	cn := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("the canary was called without TLS")
		}
		canary.Add(1)
	}))
	cn.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes below
	cn.StartTLS()
	defer cn.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cn.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{API: bundle.API{Title: "Canary", Version: "1", OpenAPI: "3.1.0", Source: "canary.yaml"}}
	b.Upstreams = []bundle.Upstream{{Name: "main", Balance: "round-robin", CAFile: caFile,
		Targets: []bundle.Target{{URL: st.URL, Weight: 9}, {URL: cn.URL, Weight: 1}}}}
	addOp(b, bundle.Operation{ID: "get", Method: "GET", Path: "/x", Public: true, Policy: bundle.Policy{Upstream: "main"}})
	ts := startServer(t, staticLoad(b))
	for i := range 100 {
		if resp, body := do(t, "GET", ts.base+"/api/x", nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if stable.Load() != 90 || canary.Load() != 10 {
		t.Errorf("stable %d, canary %d of 100; want 90 and 10", stable.Load(), canary.Load())
	}

	// Without the CA file, the canary's certificate is not trusted: its
	// requests fail over to the stable target or fail, never skip TLS checks.
	b.Upstreams[0].CAFile = ""
	plain := startServer(t, staticLoad(b))
	before := canary.Load()
	for range 20 {
		do(t, "GET", plain.base+"/api/x", nil)
	}
	if canary.Load() != before {
		t.Errorf("an untrusted https target was served %d requests", canary.Load()-before)
	}
}
