package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gwcdev/gwc/runtime/ratelimit/redistest"
)

// The store-down tests' bounds. A call that reaches a Redis that does not
// answer costs up to CallTimeout (250 ms), so 100 calls cost 25 s; failing
// at once, they cost microseconds each. The bounds are wide: they tell the
// two apart on a loaded machine under -race, they do not time the code.
const (
	firstFailures = 3               // calls that may still go to Redis once it is down
	downCalls     = 100             // calls that must then fail at once ...
	downBudget    = 2 * time.Second // ... within this, together
	recoveryBound = 5 * time.Second // Redis back: Allow works again within this
)

var downLimit = &Limit{Name: "down", Requests: 1000, Per: time.Second, Burst: 1000}

// checkFailsFast checks that once Redis cannot answer, at most
// firstFailures calls of s go to it and the next downCalls fail at once with
// ErrStoreDown, wrapping the failure.
func checkFailsFast(t *testing.T, s *Redis) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := range firstFailures {
		_, err := s.Allow(ctx, downLimit, "k")
		if err == nil {
			t.Fatalf("call %d with Redis down succeeded", i+1)
		}
		t.Logf("Redis down, call %d: %v after %v", i+1, err, time.Since(start).Round(time.Millisecond))
	}
	start = time.Now()
	for i := range downCalls {
		_, err := s.Allow(ctx, downLimit, "k")
		if d := time.Since(start); d > downBudget {
			t.Fatalf("Redis down: %d calls after the first %d failures took %v (the last: %v); want %d in under %v",
				i+1, firstFailures, d.Round(time.Millisecond), err, downCalls, downBudget)
		}
		if !errors.Is(err, ErrStoreDown) {
			t.Fatalf("Redis down, call %d: %v; want ErrStoreDown", firstFailures+i+1, err)
		}
		if i == 0 {
			t.Logf("Redis down: %v", err)
		}
		if err.Error() == ErrStoreDown.Error() {
			t.Fatalf("Redis down, call %d: %q does not say what failed", firstFailures+i+1, err)
		}
	}
	t.Logf("%d calls with Redis down: %v", downCalls, time.Since(start))
}

// checkRecovers checks that s answers again within recoveryBound.
func checkRecovers(t *testing.T, s *Redis) {
	t.Helper()
	start := time.Now()
	warm(t, s, recoveryBound)
	t.Logf("Allow answered %v after Redis was back", time.Since(start).Round(time.Millisecond))
}

// warm calls until a call succeeds, for at most d: on a loaded machine, a
// call to a Redis that is up may still time out now and then.
func warm(t *testing.T, s *Redis, d time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		_, err := s.Allow(context.Background(), downLimit, "k")
		if err == nil {
			return
		}
		if time.Since(start) > d {
			t.Fatalf("Redis up for %v, Allow still fails: %v", d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newRedis(t *testing.T, url string) *Redis {
	t.Helper()
	s, err := NewRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Redis stops (its port is closed: connections are refused), then starts
// again on the same port.
func TestRedisStoppedFailsFast(t *testing.T) {
	rs := redistest.Start(t)
	s := newRedis(t, rs.URL())
	warm(t, s, recoveryBound)
	rs.Stop()
	checkFailsFast(t, s)
	rs.Start()
	checkRecovers(t, s)
}

// A server that accepts connections and never answers: every call reaches
// its timeout.
func TestRedisUnansweredFailsFast(t *testing.T) {
	rs := redistest.New(t)
	ln, err := net.Listen("tcp", rs.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	s := newRedis(t, rs.URL())
	checkFailsFast(t, s)
	ln.Close()
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	rs.Start()
	checkRecovers(t, s)
}

// Server errors are answers, not outages: they do not make the store fail
// fast.
func TestRedisReplyErrorsDoNotTrip(t *testing.T) {
	rs := redistest.Start(t)
	s := newRedis(t, rs.URL())
	warm(t, s, recoveryBound)
	ctx := context.Background()
	for range 2 * firstFailures {
		if err := s.Client().Do(ctx, "NO-SUCH-COMMAND").Err(); err == nil || errors.Is(err, ErrStoreDown) {
			t.Fatalf("an unknown command: %v", err)
		}
	}
	if s.guard.down.Load() != nil || s.guard.fails.Load() != 0 {
		t.Fatalf("server errors count as failures to reach Redis (%d)", s.guard.fails.Load())
	}
	if _, err := s.Allow(ctx, downLimit, "k"); errors.Is(err, ErrStoreDown) {
		t.Fatalf("after server errors: %v", err)
	}
}

// Many goroutines call while Redis stops and starts again; -race checks the
// guard, and one probe at most is in flight.
func TestRedisDownConcurrent(t *testing.T) {
	rs := redistest.Start(t)
	s := newRedis(t, rs.URL())
	ping := s.guard.ping
	var probing, mostProbing, probes atomic.Int32
	s.guard.ping = func(ctx context.Context) error {
		n := probing.Add(1)
		defer probing.Add(-1)
		probes.Add(1)
		for m := mostProbing.Load(); n > m && !mostProbing.CompareAndSwap(m, n); m = mostProbing.Load() {
		}
		return ping(ctx)
	}
	warm(t, s, recoveryBound)

	const workers = 8
	var ok, down, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			key := "w" + string(rune('a'+w))
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch _, err := s.Allow(context.Background(), downLimit, key); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrStoreDown):
					down.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(recoveryBound)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("%s: not within %v (ok %d, store down %d, other errors %d)", what, recoveryBound, ok.Load(), down.Load(), other.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("calls before the outage", func() bool { return ok.Load() > 20 })
	rs.Stop()
	waitFor("fail-fast", func() bool { return down.Load() > 100 })
	waitFor("a probe", func() bool { return probes.Load() > 0 })
	failedBefore, okBefore := other.Load(), ok.Load()
	rs.Start()
	// Calls succeed again: more than one per goroutine, as each may have
	// had a call in flight, let through before the guard failed fast, that
	// reached Redis once it was back. (On a loaded machine some calls time
	// out, and three in a row make the guard fail fast again until the next
	// probe: the count is not checked further.)
	waitFor("recovery", func() bool { return ok.Load() > okBefore+workers })
	close(stop)
	wg.Wait()
	if m := mostProbing.Load(); m != 1 || probes.Load() == 0 {
		t.Errorf("%d probes, at most %d at once; want one at a time", probes.Load(), m)
	}
	t.Logf("ok %d, store down %d, other errors %d (%d before the restart), probes %d",
		ok.Load(), down.Load(), other.Load(), failedBefore, probes.Load())
}

// BenchmarkGuard is what the guard adds to a Redis call: its hook around a
// call that does nothing (a real one, on loopback, takes tens of
// microseconds: BenchmarkAllow/redis), on one goroutine and on all, with
// Redis up and while it is down.
// go test ./runtime/ratelimit -run '^$' -bench Guard -benchmem
func BenchmarkGuard(b *testing.B) {
	ctx := context.Background()
	next := func(context.Context, redis.Cmder) error { return nil }
	cmd := redis.NewStatusCmd(ctx, "ping")
	up := (&guard{}).ProcessHook(next)
	g := &guard{}
	down := fmt.Errorf("%w (last failure: %w)", ErrStoreDown, errors.New("refused"))
	g.down.Store(&down)
	failFast := g.ProcessHook(next)
	for _, bc := range []struct {
		name string
		call redis.ProcessHook
	}{{"none", next}, {"up", up}, {"down", failFast}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.call(ctx, cmd) //nolint:errcheck
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				cmd := redis.NewStatusCmd(ctx, "ping")
				for pb.Next() {
					bc.call(ctx, cmd) //nolint:errcheck
				}
			})
		})
	}
}
