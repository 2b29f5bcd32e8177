// Package cache stores upstream responses for the response cache
// (`x-gateway.cache`): in memory within a byte budget (otter, a maintained
// cache with size-weighted eviction), or in Redis when the bundle's store
// names one, so that replicas share entries. What is cached and under which
// key is the gateway's decision; this package keeps entries until their TTL.
package cache

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
)

// Entry is a stored response.
type Entry struct {
	Status int
	// Header holds the response's fields, in order, without the framing
	// ones (Content-Length, Transfer-Encoding, Date, Connection).
	Header [][2]string
	Body   []byte
	Stored time.Time
	// TTL is how long the entry lives from Stored.
	TTL time.Duration
	// Vary holds, for each field its Vary header names (lower case), the
	// value the request it answered had: it answers only requests with the
	// same values (RFC 9111 §4.1).
	Vary [][2]string
}

func (e *Entry) weight() uint32 {
	w := len(e.Body) + 64
	for _, h := range e.Header {
		w += len(h[0]) + len(h[1]) + 4
	}
	for _, h := range e.Vary {
		w += len(h[0]) + len(h[1]) + 4
	}
	return uint32(min(w, 1<<31))
}

// Store keeps entries.
type Store interface {
	Get(ctx context.Context, key string) (*Entry, bool, error)
	Set(ctx context.Context, key string, e *Entry) error
}

// Memory keeps entries in this process within a byte budget.
type Memory struct {
	c *otter.Cache[string, *Entry]
}

// NewMemory returns a memory store holding at most budget bytes of entries.
func NewMemory(budget int64) *Memory {
	return &Memory{c: otter.Must(&otter.Options[string, *Entry]{
		MaximumWeight: uint64(budget),
		Weigher:       func(_ string, e *Entry) uint32 { return e.weight() },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *Entry]) time.Duration {
			return e.Value.TTL
		}),
		// Upkeep after reads and writes runs on the caller's goroutine
		// instead of a new one each time, as for the rate limiter's buckets
		// (runtime/ratelimit): the same reasons, and no OnDeletion or
		// Compute runs under the cache's locks.
		Executor: func(fn func()) { fn() },
	})}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (*Entry, bool, error) {
	e, ok := m.c.GetIfPresent(key)
	return e, ok, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, e *Entry) error {
	m.c.Set(key, e)
	return nil
}

// Redis keeps entries in Redis, each under its key with the TTL as expiry.
// On the rate-limit store's client (ratelimit.Redis.Client, as the gateway
// uses it), a Redis that cannot be reached costs the first few calls their
// timeout; then Get and Set fail at once with ratelimit.ErrStoreDown until
// the client's probe reaches Redis again, and the failures of either store
// count for both.
type Redis struct {
	c      *redis.Client
	prefix string
}

// NewRedis returns a store on client.
func NewRedis(c *redis.Client) *Redis { return &Redis{c: c, prefix: "gwc:cache:"} }

// callTimeout bounds a cache call: a slow Redis is a miss, not a stall.
const callTimeout = 250 * time.Millisecond

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (*Entry, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	data, err := r.c.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var e Entry
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
		return nil, false, err
	}
	return &e, true, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, e *Entry) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e); err != nil {
		return err
	}
	return r.c.Set(ctx, r.prefix+key, buf.Bytes(), e.TTL).Err()
}
