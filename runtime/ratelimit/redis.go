package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by every gwc that uses the same Redis: each
// decision is one call of redis_rate's GCRA script, atomic on the server.
type Redis struct {
	client  *redis.Client
	limiter *redis_rate.Limiter
	prefix  string
	guard   *guard
}

// DialTimeout and CallTimeout bound a Redis call on the request path: a
// Redis that does not answer must not hold requests for long.
const (
	DialTimeout = 500 * time.Millisecond
	CallTimeout = 250 * time.Millisecond
)

// NewRedis connects to the Redis at url (redis://[user:password@]host:port[/db],
// rediss:// for TLS). It does not wait for the server. Once calls fail to
// reach it, the client's calls fail at once with ErrStoreDown (the cache's
// too, through Client) while a probe pings it in the background, so a Redis
// that is down costs the request path only its first failures, and gwc
// recovers by itself when it returns.
func NewRedis(url string) (*Redis, error) {
	quietRedis.Do(func() { redis.SetLogger(discardLogger{}) })
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("store.redis.url: %v", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = DialTimeout, CallTimeout, CallTimeout
	// The request path does not wait for retries; the next request tries
	// again. (go-redis reads 0 as its default, 3 retries: -1 is none.)
	opts.MaxRetries = -1
	// Nor for go-redis's dial retries (5 attempts 100 ms apart by default):
	// a refused connection fails at once, not after the call's timeout.
	opts.DialerRetries = 1
	c := redis.NewClient(opts)
	g := newGuard(c)
	c.AddHook(g)
	return &Redis{client: c, limiter: redis_rate.NewLimiter(c), prefix: "gwc:", guard: g}, nil
}

// quietRedis silences go-redis's own log lines (connection pool retries on
// standard error): gwc reports store failures itself, through its log and
// gwc_store_errors_total, at most once per 10 seconds.
var quietRedis sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// Allow implements Store.
func (s *Redis) Allow(ctx context.Context, l *Limit, key string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	// redis_rate counts Rate events per Period; a limit of requests per per
	// with its burst maps onto it directly.
	r, err := s.limiter.Allow(ctx, s.prefix+l.Name+":"+key, redis_rate.Limit{Rate: int(l.Requests), Burst: int(l.Burst), Period: l.Per})
	if err != nil {
		return Result{}, err
	}
	res := Result{Allowed: r.Allowed > 0, Remaining: int64(r.Remaining)}
	if r.RetryAfter > 0 {
		res.RetryAfter = r.RetryAfter
	}
	if r.ResetAfter > 0 {
		res.ResetAfter = r.ResetAfter
	}
	return res, nil
}

// Close closes the connections.
func (s *Redis) Close() error { return s.client.Close() }

// Stores are the stores a server keeps across reloads: one memory store, so
// that a reload does not hand every client a fresh budget, and one Redis
// client per URL.
type Stores struct {
	Memory *Memory

	mu    sync.Mutex
	redis map[string]*Redis
}

// NewStores returns an empty set of stores.
func NewStores() *Stores { return &Stores{Memory: NewMemory(), redis: map[string]*Redis{}} }

// Redis returns the store for url, connecting on first use.
func (s *Stores) Redis(url string) (*Redis, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.redis[url]; r != nil {
		return r, nil
	}
	r, err := NewRedis(url)
	if err != nil {
		return nil, err
	}
	s.redis[url] = r
	return r, nil
}

// Close closes the Redis connections.
func (s *Stores) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for url, r := range s.redis {
		r.Close() //nolint:errcheck // closing on the way out
		delete(s.redis, url)
	}
}

// Client is the Redis client, for other uses of the same server (the
// response cache). Its calls share the store's guard: they fail at once with
// ErrStoreDown while Redis is down, and their failures count towards it.
func (s *Redis) Client() *redis.Client { return s.client }
