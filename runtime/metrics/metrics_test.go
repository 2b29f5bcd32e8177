package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestExposition scrapes the handler over real HTTP and checks the series a
// dashboard relies on.
func TestExposition(t *testing.T) {
	m := New()
	op := m.Operation("getPet", "GET")
	op.Observe(200, 3*time.Millisecond)
	op.Observe(204, time.Millisecond)
	op.Observe(404, time.Millisecond)
	op.Observe(999, time.Millisecond)
	up := m.Upstream("pets")
	up.Attempt(2*time.Millisecond, false, false)
	up.Attempt(2*time.Millisecond, true, true)
	up.TargetHealth("http://127.0.0.1:9001", false)
	m.Rejection("validation").Inc()
	m.Bundles(BundleInfo{"Pet Store", "1.2.0", "sha256:abc"})
	m.Bundles(BundleInfo{"Pet Store", "1.3.0", "sha256:def"})
	m.Reload(true)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`gwc_requests_total{class="2xx",method="GET",operation="getPet"} 2`,
		`gwc_requests_total{class="4xx",method="GET",operation="getPet"} 1`,
		`gwc_requests_total{class="other",method="GET",operation="getPet"} 1`,
		`gwc_request_duration_seconds_count{operation="getPet"} 4`,
		`gwc_request_duration_seconds_bucket{operation="getPet",le="0.0025"} 3`,
		`gwc_upstream_attempts_total{outcome="ok",upstream="pets"} 1`,
		`gwc_upstream_attempts_total{outcome="retry",upstream="pets"} 1`,
		`gwc_upstream_duration_seconds_count{upstream="pets"} 2`,
		`gwc_upstream_target_healthy{target="http://127.0.0.1:9001",upstream="pets"} 0`,
		`gwc_rejections_total{reason="validation"} 1`,
		`gwc_bundle_info{digest="sha256:def",title="Pet Store",version="1.3.0"} 1`,
		`gwc_bundle_reloads_total{result="ok"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, `version="1.2.0"`) {
		t.Error("the replaced bundle is still reported")
	}
}

func BenchmarkObserve(b *testing.B) {
	op := New().Operation("getPet", "GET")
	b.ReportAllocs()
	for b.Loop() {
		op.Observe(200, time.Millisecond)
	}
}
