package cache

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/ratelimit"
	"github.com/gwcdev/gwc/runtime/ratelimit/redistest"
)

// The cache's Redis store runs on the rate-limit store's client, as in the
// gateway: a Redis that is down costs it its first failures only, the state
// is the client's (failures seen by the cache make the rate limits fail fast
// too), and it recovers without a new client.
func TestRedisDownFailsFast(t *testing.T) {
	rs := redistest.Start(t)
	rl, err := ratelimit.NewRedis(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	c := NewRedis(rl.Client())
	ctx := context.Background()
	e := &Entry{Status: 200, Header: [][2]string{{"Content-Type", "text/plain"}}, Body: []byte("hello"), Stored: time.Now(), TTL: time.Minute}
	within(t, "Redis up", func() error { return setAndGet(ctx, c, e) })

	rs.Stop()
	const firstFailures, downCalls, downBudget = 3, 100, 2 * time.Second // as in runtime/ratelimit's tests
	for i := range firstFailures {
		if _, _, err := c.Get(ctx, "k"); err == nil {
			t.Fatalf("Get %d with Redis down succeeded", i+1)
		}
	}
	start := time.Now()
	for i := range downCalls {
		_, _, gerr := c.Get(ctx, "k")
		serr := c.Set(ctx, "k", e)
		if d := time.Since(start); d > downBudget {
			t.Fatalf("Redis down: %d Gets and Sets after the first %d failures took %v (the last: %v, %v); want %d in under %v",
				i+1, firstFailures, d.Round(time.Millisecond), gerr, serr, downCalls, downBudget)
		}
		if !errors.Is(gerr, ratelimit.ErrStoreDown) || !errors.Is(serr, ratelimit.ErrStoreDown) {
			t.Fatalf("Redis down, call %d: Get %v, Set %v; want ErrStoreDown", i+1, gerr, serr)
		}
	}
	t.Logf("%d Gets and Sets with Redis down: %v", downCalls, time.Since(start))
	l := &ratelimit.Limit{Name: "l", Requests: 10, Per: time.Second, Burst: 10}
	if _, err := rl.Allow(ctx, l, "k"); !errors.Is(err, ratelimit.ErrStoreDown) {
		t.Errorf("the cache found Redis down, the rate limit store: %v", err)
	}

	rs.Start() // empty: it kept nothing
	start = time.Now()
	within(t, "Redis back", func() error { return setAndGet(ctx, c, e) })
	t.Logf("Set and Get answered %v after Redis was back", time.Since(start).Round(time.Millisecond))
	within(t, "Redis back, the rate limit store", func() error { _, err := rl.Allow(ctx, l, "k"); return err })
}

// setAndGet stores e and reads it back.
func setAndGet(ctx context.Context, c *Redis, e *Entry) error {
	if err := c.Set(ctx, "k", e); err != nil {
		return err
	}
	got, ok, err := c.Get(ctx, "k")
	if err != nil {
		return err
	}
	if !ok || string(got.Body) != string(e.Body) {
		return fmt.Errorf("got %+v, %v after a Set", got, ok)
	}
	return nil
}

// within calls f until it succeeds, for at most 5 s: on a loaded machine,
// a call to a Redis that is up may still time out now and then.
func within(t *testing.T, what string, f func() error) {
	t.Helper()
	start := time.Now()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: still failing after 5s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
