package gateway

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/header"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/ratelimit"
)

// limiter is an operation's rate limit, compiled: the limit, how its key is
// taken from a request, and the store that holds its budgets.
type limiter struct {
	limit  ratelimit.Limit
	key    func(dst []byte, r *request) []byte
	policy []byte // RateLimit-Policy value
	quoted string // the limit's name as a structured-field string
	store  *limitStore
}

// limitStore is a bundle's store with what its failures do.
type limitStore struct {
	ratelimit.Store
	// failOpen lets requests through when the store cannot answer.
	failOpen        bool
	allowed, denied prometheus.Counter
	lastLog         atomic.Int64 // unix nanos of the last failure logged
}

func newLimiter(rl *bundle.RateLimit, st *limitStore) *limiter {
	l := &limiter{store: st, limit: ratelimit.Limit{Name: rl.Name, Requests: rl.Requests, Per: rl.Per.D(), Burst: rl.Burst}}
	if l.limit.Burst <= 0 {
		l.limit.Burst = l.limit.Requests
	}
	// RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers): the quota
	// and its window in seconds.
	l.quoted = strconv.Quote(rl.Name)
	l.policy = []byte(l.quoted + ";q=" + strconv.FormatInt(rl.Requests, 10) + ";w=" +
		strconv.FormatInt(int64(math.Ceil(l.limit.Per.Seconds())), 10))
	// Keys are built in the request's buffer: the store reads them during
	// the call only.
	ip := func(dst []byte, r *request) []byte { return r.clientAddr().AppendTo(append(dst, "ip:"...)) }
	switch k := rl.Key; {
	case k == "client":
		l.key = func(dst []byte, r *request) []byte {
			if r.identity.Client != "" {
				return append(append(dst, "client:"...), r.identity.Client...)
			}
			return ip(dst, r) // an unauthenticated request is its address
		}
	case strings.HasPrefix(k, "header:"):
		name := header.Canonical(k[len("header:"):])
		l.key = func(dst []byte, r *request) []byte {
			if v := r.ctx.Request.Header.PeekCanonical(name); len(v) > 0 {
				return append(append(dst, "header:"...), v...)
			}
			return ip(dst, r)
		}
	case strings.HasPrefix(k, "claim:"):
		name := k[len("claim:"):]
		l.key = func(dst []byte, r *request) []byte {
			switch v := r.identity.Claims[name].(type) {
			case string:
				if v != "" {
					return append(append(dst, "claim:"...), v...)
				}
			case float64:
				return strconv.AppendFloat(append(dst, "claim:"...), v, 'f', -1, 64)
			}
			return ip(dst, r)
		}
	default: // ip
		l.key = ip
	}
	return l
}

// rateLimit takes the request from its budget: 429 with Retry-After when it
// is spent. The RateLimit headers are set on the answer, whoever makes it.
func (o *operation) rateLimit(r *request) bool {
	l := o.limiter
	r.keyBuf = l.key(r.keyBuf[:0], r)
	res, err := l.store.Allow(context.Background(), &l.limit, b2s(r.keyBuf))
	if err != nil {
		st := l.store
		if now := time.Now().UnixNano(); now-st.lastLog.Load() > int64(10*time.Second) {
			st.lastLog.Store(now)
			action := "refusing requests (on_error: closed)"
			if st.failOpen {
				action = "letting requests through (on_error: open)"
			}
			r.g.log.Error("rate limit store failed; "+action, "limit", l.limit.Name, "error", err)
		}
		if st.failOpen {
			st.allowed.Inc()
			return true
		}
		st.denied.Inc()
		r.fail(problem.LimitUnavailable, "the rate limit of operation "+o.op.ID+" cannot be checked right now", nil)
		r.ctx.Response.Header.Set("Retry-After", "1")
		return false
	}
	r.limit, r.limited = res, true
	if !res.Allowed {
		r.fail(problem.TooManyRequests, "rate limit "+l.limit.Name+" is spent; retry in "+
			strconv.FormatInt(retrySeconds(res.RetryAfter), 10)+" s", nil)
		return false
	}
	return true
}

func retrySeconds(d time.Duration) int64 { return max(int64(math.Ceil(d.Seconds())), 1) }

// setLimitHeaders writes the RateLimit and RateLimit-Policy fields (and
// Retry-After on a refusal) on the response.
func (r *request) setLimitHeaders() {
	l := r.op.limiter
	h := &r.ctx.Response.Header
	var buf [128]byte
	b := append(buf[:0], l.quoted...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, r.limit.Remaining, 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, int64(math.Ceil(r.limit.ResetAfter.Seconds())), 10)
	h.SetCanonical(header.RateLimit, b)
	h.SetCanonical(header.RateLimitPolicy, l.policy)
	if !r.limit.Allowed {
		h.SetCanonical(header.RetryAfter, strconv.AppendInt(buf[:0], retrySeconds(r.limit.RetryAfter), 10))
	}
}
