// Package ratelimit decides whether a request fits its operation's rate
// limit. A limit lets `requests` through per `per`, with bursts of up to
// `burst`; the state is per limit name and key (a client address, a client,
// a header's or a claim's value).
//
// Two stores: Memory (golang.org/x/time/rate token buckets, one process) and
// Redis (go-redis's redis_rate: GCRA in one server-side Lua script, so every
// replica sharing the Redis holds one combined budget, and long windows —
// quotas per day or month — survive restarts). Both give the same answer for
// the same traffic: how many requests remain, when the next is allowed, and
// when the budget is whole again.
package ratelimit

import (
	"context"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// Limit is one rate limit.
type Limit struct {
	// Name identifies the budget: operations naming one limit share it.
	Name     string
	Requests int64
	Per      time.Duration
	Burst    int64
}

// Result is a decision.
type Result struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int64
	// RetryAfter is when the next request will be allowed; 0 when allowed.
	RetryAfter time.Duration
	// ResetAfter is when the budget is whole again.
	ResetAfter time.Duration
}

// Store decides and keeps the state.
type Store interface {
	// Allow takes one request from the budget of l for key. The store
	// must not keep key beyond the call (it may view a reused buffer).
	Allow(ctx context.Context, l *Limit, key string) (Result, error)
}

// Memory is a Store in this process. Buckets of keys that have been idle
// long enough to be full again are dropped (they are equal to new ones), and
// at most maxKeys are kept.
type Memory struct {
	buckets *otter.Cache[string, *bucket]
	now     func() time.Time
}

// bucket is a key's token bucket, with what Allow reads of it on every
// request and the limiter would otherwise give under its lock.
type bucket struct {
	lim   *rate.Limiter
	rate  float64 // tokens per second
	burst float64
	fill  time.Duration // how long the bucket takes to fill from empty
}

const maxKeys = 1 << 20

// NewMemory returns an empty memory store.
func NewMemory() *Memory {
	return &Memory{now: time.Now, buckets: otter.Must(&otter.Options[string, *bucket]{
		MaximumSize: maxKeys,
		ExpiryCalculator: otter.ExpiryAccessingFunc(func(e otter.Entry[string, *bucket]) time.Duration {
			return e.Value.fill + time.Second
		}),
		// Expiry is a matter of seconds: the cache reads a clock updated
		// ten times a second, not the time, on each lookup.
		Clock: otter.NewCoarseClock(100 * time.Millisecond),
		// The cache's upkeep after reads (replaying its read buffer into
		// the eviction policy: a few entries, every few dozen lookups)
		// runs on the goroutine that looked up. By default it starts a
		// goroutine each time, and waking a thread for it cost more than
		// the upkeep itself: on the loop engine, several percent of the
		// process's CPU and most of its context switches. Nothing here runs
		// under the cache's locks (no OnDeletion, no Compute), so the
		// synchronous executor's deadlock cases do not arise.
		Executor: func(fn func()) { fn() },
	})}
}

// Allow implements Store. key is only read during the call: a caller may
// pass a string that views a reused buffer.
func (m *Memory) Allow(_ context.Context, l *Limit, key string) (Result, error) {
	var buf [128]byte
	kb := append(append(append(buf[:0], l.Name...), 0), key...)
	k := unsafe.String(unsafe.SliceData(kb), len(kb)) // looked up, not kept
	b, ok := m.buckets.GetIfPresent(k)
	if !ok {
		per := float64(l.Requests) / l.Per.Seconds()
		nb := &bucket{lim: rate.NewLimiter(rate.Limit(per), int(l.Burst)), rate: per, burst: float64(l.Burst)}
		nb.fill = time.Duration(nb.burst / per * float64(time.Second))
		b, _ = m.buckets.SetIfAbsent(strings.Clone(k), nb)
	}
	now := m.now()
	r := b.lim.ReserveN(now, 1)
	res := Result{Allowed: r.OK() && r.DelayFrom(now) == 0}
	if !res.Allowed {
		res.RetryAfter = r.DelayFrom(now)
		r.CancelAt(now) // a refused request takes nothing
	}
	tokens := b.lim.TokensAt(now)
	res.Remaining = max(int64(math.Floor(tokens)), 0)
	res.ResetAfter = time.Duration((b.burst - tokens) / b.rate * float64(time.Second))
	return res, nil
}
