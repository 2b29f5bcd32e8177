package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrStoreDown is the error of a Redis call that was not made: the last
// calls could not reach Redis (refused, timed out, reset), and until a probe
// reaches it again every call fails at once instead of waiting for its own
// timeout. The error wraps the last failure: errors.Is(err, ErrStoreDown)
// tells the two apart, and the message says what failed.
var ErrStoreDown = errors.New("redis store down, not called until a probe answers")

// The guard's settings. tripAfter consecutive failures make calls fail at
// once: a single slow answer does not, and while Redis is down only the
// calls already in flight and these few wait for their timeout. The probe
// pings Redis probeFirst after that, then at intervals doubling up to
// probeMax: a Redis that is back is used again within about probeMax (plus
// up to a second when go-redis's own dial breaker, which opens after
// PoolSize failed dials, is waiting to dial again).
const (
	tripAfter  = 3
	probeFirst = 250 * time.Millisecond
	probeMax   = time.Second
)

// guard is a go-redis hook that makes calls fail fast while Redis cannot be
// reached. It is installed on the client, so every user of the client (the
// rate-limit store, the response cache through Redis.Client) shares its
// state. Healthy, a call costs one atomic load before and one after.
type guard struct {
	// down is the error calls fail with, nil while Redis is up.
	down atomic.Pointer[error]
	// fails counts consecutive failures to reach Redis.
	fails atomic.Int32
	// ping is the probe's call (a variable for tests).
	ping func(context.Context) error
}

// probeKey marks the probe's context: its call goes through while down.
type probeKey struct{}

func newGuard(c *redis.Client) *guard {
	return &guard{ping: func(ctx context.Context) error { return c.Ping(ctx).Err() }}
}

// unreachable tells whether err is a failure to reach Redis (dial refused,
// timed out, reset, a pool with no connection to give) rather than Redis's
// answer (a script's or a command's error, a missing key) or the caller's
// doing (a cancelled context, a closed client). Redis's answers come at
// once, so only the former are worth failing fast for.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, redis.ErrClosed) {
		return false
	}
	var reply redis.Error
	return !errors.As(err, &reply)
}

// check is the state before a call: nil to make it, or the error to fail
// with.
func (g *guard) check(ctx context.Context) error {
	if p := g.down.Load(); p != nil && ctx.Value(probeKey{}) == nil {
		return *p
	}
	return nil
}

// observe records a call's outcome; the failure that makes tripAfter in a
// row starts the probe.
func (g *guard) observe(err error) {
	if !unreachable(err) {
		if g.fails.Load() != 0 {
			g.fails.Store(0)
		}
		return
	}
	if g.fails.Add(1) < tripAfter {
		return
	}
	if down := fmt.Errorf("%w (last failure: %w)", ErrStoreDown, err); g.down.CompareAndSwap(nil, &down) {
		go g.probe()
	}
}

// probe pings Redis until it answers, then lets calls through again. Only
// the goroutine that moved the guard to down runs it, so one probe at most
// is in flight per client. It ends, leaving calls to fail with the client's
// own error, when the client is closed.
func (g *guard) probe() {
	for wait := probeFirst; ; wait = min(2*wait, probeMax) {
		time.Sleep(wait)
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), probeKey{}, true), CallTimeout)
		err := g.ping(ctx)
		cancel()
		if !unreachable(err) {
			g.fails.Store(0)
			g.down.Store(nil)
			return
		}
		down := fmt.Errorf("%w (last failure: %w)", ErrStoreDown, err)
		g.down.Store(&down)
	}
}

// DialHook implements redis.Hook.
func (g *guard) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (g *guard) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := g.check(ctx); err != nil {
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		g.observe(err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (g *guard) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := g.check(ctx); err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		err := next(ctx, cmds)
		g.observe(err)
		return err
	}
}
