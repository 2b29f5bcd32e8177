// Package upstream chooses which target of an upstream gets a request and
// keeps each target's state: requests in flight (least-requests), active
// health (health_check) and its circuit breaker (circuit_breaker). It does no
// I/O of its own except the health probes, which go through a Probe function,
// so it serves whichever HTTP engine the server uses.
//
// Balancing: round-robin is nginx's smooth weighted round-robin, precomputed
// into a schedule walked with one atomic counter (no lock per request);
// least-requests picks the available target with the fewest requests in
// flight relative to its weight; random picks by weight. Every policy skips
// targets that are unhealthy or whose breaker is open; when none is left the
// pool says so and the server answers 503.
package upstream

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// ErrNoTarget is returned by Pick when every target is unhealthy or has an
// open circuit breaker.
var ErrNoTarget = errors.New("no healthy upstream target")

// Balance policies.
const (
	RoundRobin    = "round-robin"
	LeastRequests = "least-requests"
	Random        = "random"
)

// Target is one target of an upstream.
type Target struct {
	// URL is the target's base URL; its path prefixes every request path.
	URL *url.URL
	// Host is URL.Host, ready for the Host header; Addr is host:port to
	// dial, with the scheme's default port when the URL names none.
	Host, Addr string
	// BasePath is URL.Path without its trailing slash.
	BasePath string
	Weight   int

	inflight atomic.Int64
	// unhealthy is set by health checks; targets start healthy so that a
	// fresh gateway serves at once.
	unhealthy atomic.Bool
	breaker   breaker
}

// InFlight is the number of requests the target is handling.
func (t *Target) InFlight() int64 { return t.inflight.Load() }

// Healthy reports the target's active health check state.
func (t *Target) Healthy() bool { return !t.unhealthy.Load() }

// Pool is an upstream's targets and the policy that chooses among them.
type Pool struct {
	Name    string
	Config  bundle.Upstream
	Targets []*Target

	balance  string
	schedule []int // round-robin: target indexes, each appearing weight times
	next     atomic.Uint64
	totalW   int
	now      func() time.Time
	rnd      func(n int) int
}

// Options are a Pool's dependencies, for tests.
type Options struct {
	// Now is the clock of circuit breakers; time.Now when nil.
	Now func() time.Time
	// Rand returns a number in [0, n); math/rand/v2 when nil.
	Rand func(n int) int
}

// NewPool returns the pool of u. Its errors name what in the bundle is
// wrong; a compiled bundle has none.
func NewPool(u bundle.Upstream, opts Options) (*Pool, error) {
	p := &Pool{Name: u.Name, Config: u, balance: u.Balance, now: opts.Now, rnd: opts.Rand}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rnd == nil {
		p.rnd = rand.IntN
	}
	switch p.balance {
	case "":
		p.balance = RoundRobin
	case RoundRobin, LeastRequests, Random:
	default:
		return nil, fmt.Errorf("upstream %q: unknown balance %q", u.Name, u.Balance)
	}
	if len(u.Targets) == 0 {
		return nil, fmt.Errorf("upstream %q has no targets", u.Name)
	}
	for i, tc := range u.Targets {
		pu, err := url.Parse(tc.URL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("upstream %q: target %d %q is not an http(s) URL", u.Name, i, tc.URL)
		}
		if tc.Weight < 0 {
			return nil, fmt.Errorf("upstream %q: target %d has a negative weight", u.Name, i)
		}
		t := &Target{URL: pu, Host: pu.Host, Addr: dialAddr(pu), BasePath: strings.TrimSuffix(pu.Path, "/"), Weight: tc.Weight}
		if cb := u.CircuitBreaker; cb != nil {
			t.breaker = breaker{failures: int64(cb.Failures), openFor: cb.OpenFor.D()}
		}
		p.Targets = append(p.Targets, t)
		p.totalW += tc.Weight
	}
	if p.totalW == 0 {
		return nil, fmt.Errorf("upstream %q: every target has weight 0", u.Name)
	}
	p.schedule = smoothSchedule(p.Targets)
	return p, nil
}

// smoothSchedule lays out nginx's smooth weighted round-robin for one full
// cycle: weights 5,1,1 give a b a c a a a rather than a a a a a b c, so a
// heavy target never takes a burst. Weights are divided by their greatest
// common divisor to keep the cycle short.
func smoothSchedule(ts []*Target) []int {
	g := 0
	for _, t := range ts {
		g = gcd(g, t.Weight)
	}
	total := 0
	w := make([]int, len(ts))
	for i, t := range ts {
		w[i] = t.Weight / g
		total += w[i]
	}
	cur := make([]int, len(ts))
	out := make([]int, 0, total)
	for range total {
		best := -1
		for i := range ts {
			cur[i] += w[i]
			if w[i] > 0 && (best < 0 || cur[i] > cur[best]) {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, best)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// available says whether t may take a request now.
func (p *Pool) available(t *Target, now time.Time) bool {
	return t.Weight > 0 && !t.unhealthy.Load() && t.breaker.allow(now)
}

// Pick chooses the target for one request attempt, skipping exclude (the
// target a retry is moving away from) when another is available. The caller
// must call Done on the target with the attempt's outcome.
func (p *Pool) Pick(exclude *Target) (*Target, error) { return p.PickAt(exclude, p.now()) }

// PickAt is Pick at the time now, for a caller that has just read the
// clock.
func (p *Pool) PickAt(exclude *Target, now time.Time) (*Target, error) {
	var t *Target
	switch p.balance {
	case LeastRequests:
		t = p.pickLeast(exclude, now)
	case Random:
		t = p.pickRandom(exclude, now)
	default:
		t = p.pickRoundRobin(exclude, now)
	}
	if t == nil && exclude != nil && p.available(exclude, now) {
		t = exclude // the only one left: retry it rather than fail
	}
	if t == nil {
		return nil, ErrNoTarget
	}
	if !t.breaker.acquire(now) {
		return nil, ErrNoTarget
	}
	t.inflight.Add(1)
	return t, nil
}

func (p *Pool) pickRoundRobin(exclude *Target, now time.Time) *Target {
	n := uint64(len(p.schedule))
	start := p.next.Add(1) - 1
	for i := uint64(0); i < n; i++ {
		t := p.Targets[p.schedule[(start+i)%n]]
		if t != exclude && p.available(t, now) {
			return t
		}
	}
	return nil
}

func (p *Pool) pickLeast(exclude *Target, now time.Time) *Target {
	var best *Target
	// Compare inflight/weight without dividing: a.in*b.w < b.in*a.w. Ties go
	// to the target after the last winner, so equal targets share the load.
	offset := int(p.next.Add(1))
	for i := range p.Targets {
		t := p.Targets[(offset+i)%len(p.Targets)]
		if t == exclude || !p.available(t, now) {
			continue
		}
		if best == nil || t.inflight.Load()*int64(best.Weight) < best.inflight.Load()*int64(t.Weight) {
			best = t
		}
	}
	return best
}

func (p *Pool) pickRandom(exclude *Target, now time.Time) *Target {
	total := 0
	for _, t := range p.Targets {
		if t != exclude && p.available(t, now) {
			total += t.Weight
		}
	}
	if total == 0 {
		return nil
	}
	r := p.rnd(total)
	for _, t := range p.Targets {
		if t == exclude || !p.available(t, now) {
			continue
		}
		if r < t.Weight {
			return t
		}
		r -= t.Weight
	}
	return nil
}

// Outcome is how one attempt at a target went, as the circuit breaker
// counts it.
type Outcome int

const (
	// Success: the target answered (any status the retry policy does not
	// list as a failure).
	Success Outcome = iota
	// Failure: connect error, timeout, or a status listed in retries.on.
	Failure
	// Canceled: the client went away; says nothing about the target.
	Canceled
)

// Done records the outcome of an attempt Pick handed out.
func (p *Pool) Done(t *Target, o Outcome) {
	t.inflight.Add(-1)
	switch o {
	case Success:
		t.breaker.success()
	case Failure:
		t.breaker.failure(p.now())
	case Canceled:
		t.breaker.release()
	}
}

// breaker is a target's circuit breaker: closed until `failures`
// consecutive failures, then open (no requests) for `openFor`, then
// half-open: one trial request, whose success closes it and whose failure
// opens it again. A zero breaker never opens.
type breaker struct {
	failures int64
	openFor  time.Duration

	mu          sync.Mutex
	consecutive int64
	openUntil   time.Time // zero: closed
	trial       bool      // half-open, trial request in flight
}

func (b *breaker) enabled() bool { return b.failures > 0 }

// allow reports whether a request may be sent now, without taking the
// half-open trial slot.
func (b *breaker) allow(now time.Time) bool {
	if !b.enabled() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true
	}
	return !now.Before(b.openUntil) && !b.trial
}

// acquire is allow that also takes the half-open trial slot.
func (b *breaker) acquire(now time.Time) bool {
	if !b.enabled() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true
	}
	if now.Before(b.openUntil) || b.trial {
		return false
	}
	b.trial = true
	return true
}

func (b *breaker) success() {
	if !b.enabled() {
		return
	}
	b.mu.Lock()
	b.consecutive = 0
	b.openUntil = time.Time{}
	b.trial = false
	b.mu.Unlock()
}

func (b *breaker) failure(now time.Time) {
	if !b.enabled() {
		return
	}
	b.mu.Lock()
	b.consecutive++
	if b.trial || b.consecutive >= b.failures {
		b.openUntil = now.Add(b.openFor)
		b.trial = false
	}
	b.mu.Unlock()
}

func (b *breaker) release() {
	if !b.enabled() {
		return
	}
	b.mu.Lock()
	b.trial = false
	b.mu.Unlock()
}

// Open reports whether t's circuit breaker is open at now (for metrics and
// the admin API).
func (t *Target) Open(now time.Time) bool {
	return t.breaker.enabled() && !t.breaker.allow(now)
}

// InheritHealth copies the active health state of prev's targets to the
// targets of p with the same URL, so that a reload does not send traffic to
// a target health checks had found down (targets otherwise start healthy).
func (p *Pool) InheritHealth(prev *Pool) {
	for _, t := range p.Targets {
		for _, o := range prev.Targets {
			if o.URL.String() == t.URL.String() {
				t.unhealthy.Store(o.unhealthy.Load())
				break
			}
		}
	}
}

// dialAddr is u's host:port, with the scheme's default port when u names
// none.
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
