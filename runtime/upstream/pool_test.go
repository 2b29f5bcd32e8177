package upstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

func targets(weights ...int) []bundle.Target {
	var ts []bundle.Target
	for i, w := range weights {
		ts = append(ts, bundle.Target{URL: "http://127.0.0.1:" + string(rune('1'+i)) + "000/base/", Weight: w})
	}
	return ts
}

func names(p *Pool, ts []*Target) []int {
	var out []int
	for _, t := range ts {
		out = append(out, slices.Index(p.Targets, t))
	}
	return out
}

func TestNewPoolErrors(t *testing.T) {
	for _, u := range []bundle.Upstream{
		{Name: "a"},
		{Name: "a", Targets: []bundle.Target{{URL: "ftp://x", Weight: 1}}},
		{Name: "a", Targets: []bundle.Target{{URL: "http://x", Weight: 0}}},
		{Name: "a", Targets: []bundle.Target{{URL: "http://x", Weight: -1}}},
		{Name: "a", Targets: []bundle.Target{{URL: "http://x", Weight: 1}}, Balance: "fastest"},
	} {
		if _, err := NewPool(u, Options{}); err == nil {
			t.Errorf("NewPool(%+v) accepted it", u)
		}
	}
	p, err := NewPool(bundle.Upstream{Name: "a", Targets: targets(1)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Targets[0]; got.Host != "127.0.0.1:1000" || got.BasePath != "/base" {
		t.Errorf("target = %q %q", got.Host, got.BasePath)
	}
}

func TestRoundRobinSmooth(t *testing.T) {
	p, err := NewPool(bundle.Upstream{Name: "a", Targets: targets(5, 1, 1)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []*Target
	for range 14 {
		tg, err := p.Pick(nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Done(tg, Success)
		got = append(got, tg)
	}
	// nginx's smooth weighted round-robin for 5,1,1, twice.
	want := []int{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}
	if g := names(p, got); !slices.Equal(g, want) {
		t.Errorf("sequence %v, want %v", g, want)
	}
	// A down target is skipped; its share goes to the others.
	p.Targets[0].unhealthy.Store(true)
	for range 10 {
		tg, _ := p.Pick(nil)
		p.Done(tg, Success)
		if tg == p.Targets[0] {
			t.Fatal("picked an unhealthy target")
		}
	}
	p.Targets[1].unhealthy.Store(true)
	p.Targets[2].unhealthy.Store(true)
	if _, err := p.Pick(nil); err != ErrNoTarget {
		t.Errorf("all down: err = %v", err)
	}
}

func TestPickExcludes(t *testing.T) {
	for _, balance := range []string{RoundRobin, LeastRequests, Random} {
		p, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1, 1), Balance: balance}, Options{})
		for range 10 {
			first, _ := p.Pick(nil)
			second, _ := p.Pick(first)
			if first == second {
				t.Fatalf("%s: retry went to the same target while another was available", balance)
			}
			p.Done(first, Failure)
			p.Done(second, Success)
		}
		// With one target left, a retry goes back to it.
		one, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1), Balance: balance}, Options{})
		first, _ := one.Pick(nil)
		if again, err := one.Pick(first); err != nil || again != first {
			t.Errorf("%s: single target retry = %v, %v", balance, again, err)
		}
	}
}

func TestLeastRequests(t *testing.T) {
	p, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1, 1, 2), Balance: LeastRequests}, Options{})
	// Hold requests open: the weight-2 target should carry twice the others.
	var held []*Target
	for range 8 {
		tg, err := p.Pick(nil)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tg)
	}
	if a, b, c := p.Targets[0].InFlight(), p.Targets[1].InFlight(), p.Targets[2].InFlight(); a != 2 || b != 2 || c != 4 {
		t.Errorf("in flight %d %d %d, want 2 2 4", a, b, c)
	}
	for _, tg := range held {
		p.Done(tg, Success)
	}
	if p.Targets[2].InFlight() != 0 {
		t.Error("Done did not release")
	}
}

func TestRandomWeighted(t *testing.T) {
	seq := []int{0, 1, 2, 3}
	i := 0
	p, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1, 3), Balance: Random}, Options{Rand: func(n int) int {
		if n != 4 {
			t.Fatalf("rand over %d, want total weight 4", n)
		}
		v := seq[i%len(seq)]
		i++
		return v
	}})
	var got []*Target
	for range 4 {
		tg, _ := p.Pick(nil)
		p.Done(tg, Success)
		got = append(got, tg)
	}
	if g := names(p, got); !slices.Equal(g, []int{0, 1, 1, 1}) {
		t.Errorf("picks %v", g)
	}
}

func TestCircuitBreaker(t *testing.T) {
	now := time.Unix(1000, 0)
	p, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1),
		CircuitBreaker: &bundle.CircuitBreaker{Failures: 3, OpenFor: bundle.Duration(10 * time.Second)}},
		Options{Now: func() time.Time { return now }})
	fail := func() {
		t.Helper()
		tg, err := p.Pick(nil)
		if err != nil {
			t.Fatalf("pick: %v", err)
		}
		p.Done(tg, Failure)
	}
	fail()
	fail()
	// A success resets the count.
	tg, _ := p.Pick(nil)
	p.Done(tg, Success)
	fail()
	fail()
	fail() // third in a row: open
	if _, err := p.Pick(nil); err != ErrNoTarget {
		t.Fatalf("open breaker let a request through: %v", err)
	}
	if !p.Targets[0].Open(now) {
		t.Error("Open() = false")
	}
	now = now.Add(10 * time.Second) // half-open: one trial
	trial, err := p.Pick(nil)
	if err != nil {
		t.Fatalf("half-open refused the trial: %v", err)
	}
	if _, err := p.Pick(nil); err != ErrNoTarget {
		t.Fatal("half-open let a second request through during the trial")
	}
	p.Done(trial, Failure) // trial failed: open again
	if _, err := p.Pick(nil); err != ErrNoTarget {
		t.Fatal("failed trial did not reopen")
	}
	now = now.Add(10 * time.Second)
	trial, _ = p.Pick(nil)
	p.Done(trial, Canceled) // a canceled trial frees the slot, no verdict
	trial, err = p.Pick(nil)
	if err != nil {
		t.Fatal("canceled trial kept the slot")
	}
	p.Done(trial, Success) // closes
	for range 5 {
		tg, err := p.Pick(nil)
		if err != nil {
			t.Fatal("closed breaker refused")
		}
		p.Done(tg, Success)
	}
}

func TestRetryOn(t *testing.T) {
	p, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1),
		Retries: &bundle.Retries{Attempts: 2, On: []string{ConnectError, "503"}}}, Options{})
	unsafe, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1),
		Retries: &bundle.Retries{Attempts: 1, On: []string{Timeout, "502"}, Unsafe: true}}, Options{})
	none, _ := NewPool(bundle.Upstream{Name: "a", Targets: targets(1)}, Options{})
	tests := []struct {
		p       *Pool
		method  string
		attempt int
		kind    string
		status  int
		want    bool
	}{
		{p, "GET", 1, ConnectError, 0, true},
		{p, "GET", 2, ConnectError, 0, true},
		{p, "GET", 3, ConnectError, 0, false}, // 2 retries after the first
		{p, "GET", 1, "", 503, true},
		{p, "GET", 1, "", 502, false},
		{p, "GET", 1, Timeout, 0, false},
		{p, "POST", 1, "", 503, false},
		{p, "POST", 1, ConnectError, 0, true}, // never reached the upstream
		{unsafe, "POST", 1, Timeout, 0, true},
		{unsafe, "POST", 1, "", 502, true},
		{unsafe, "POST", 2, "", 502, false},
		{none, "GET", 1, ConnectError, 0, false},
	}
	for _, tt := range tests {
		if got := tt.p.RetryOn(tt.method, tt.attempt, tt.kind, tt.status); got != tt.want {
			t.Errorf("RetryOn(%s, %d, %q, %d) = %v", tt.method, tt.attempt, tt.kind, tt.status, got)
		}
	}
	if !p.Failed(503) || !p.Failed(502) || p.Failed(500) || p.Failed(404) {
		t.Error("Failed classification")
	}
}

// TestCheckHealth probes real HTTP servers on 127.0.0.1 and follows one
// going down and coming back.
func TestCheckHealth(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	var probes atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/base/healthz" {
			t.Errorf("probed %q", r.URL.Path)
		}
		probes.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer flaky.Close()
	steady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer steady.Close()
	p, err := NewPool(bundle.Upstream{Name: "a",
		Targets:     []bundle.Target{{URL: flaky.URL + "/base/", Weight: 1}, {URL: steady.URL + "/base", Weight: 1}},
		HealthCheck: &bundle.HealthCheck{Path: "/healthz", Interval: bundle.Duration(20 * time.Millisecond), Healthy: 2, Unhealthy: 2}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var mu sync.Mutex
	var changes []bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.CheckHealth(ctx, HTTPProbe(client), func(tg *Target, healthy bool, err error) {
			if tg != p.Targets[0] {
				t.Errorf("state change of the steady target (err %v)", err)
			}
			mu.Lock()
			changes = append(changes, healthy)
			mu.Unlock()
		})
		close(done)
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("first probes", func() bool { return probes.Load() >= 2 })
	if !p.Targets[0].Healthy() {
		t.Fatal("healthy target marked down")
	}
	status.Store(302) // a redirect is not health
	waitFor("target down", func() bool { return !p.Targets[0].Healthy() })
	for range 5 {
		tg, err := p.Pick(nil)
		if err != nil || tg != p.Targets[1] {
			t.Fatalf("picked %v, %v while target 0 is down", tg, err)
		}
		p.Done(tg, Success)
	}
	status.Store(200)
	waitFor("target up", func() bool { return p.Targets[0].Healthy() })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(changes, []bool{false, true}) {
		t.Errorf("changes %v, want [false true]", changes)
	}
}
