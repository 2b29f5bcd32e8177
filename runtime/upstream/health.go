package upstream

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Default health check thresholds: a target goes down after 2 failed probes
// in a row and comes back after 2 good ones, so one lost packet neither
// removes a target nor brings a flapping one back.
const (
	DefaultHealthy   = 2
	DefaultUnhealthy = 2
	DefaultInterval  = 10 * time.Second
)

// Probe checks one target; nil means healthy.
type Probe func(ctx context.Context, t *Target, path string) error

// HTTPProbe returns a Probe that GETs the health path on the target with
// client: a 2xx status is healthy, anything else is not (give a client that
// does not follow redirects, so that a redirect to a login page is not
// mistaken for health).
func HTTPProbe(client *http.Client) Probe {
	return func(ctx context.Context, t *Target, path string) error {
		u := *t.URL
		u.Path = t.BasePath + path
		u.RawQuery = ""
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "gwc-health-check")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 300 {
			return &StatusError{Code: resp.StatusCode}
		}
		return nil
	}
}

// StatusError is a probe answered with a failing status.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return "health check answered " + strconv.Itoa(e.Code) }

// CheckHealth probes every target of the pool each interval until ctx ends,
// marking targets down and up by the thresholds. It returns at once when the
// upstream has no health_check. onChange, if not nil, is told of every state
// change (for logs and metrics).
func (p *Pool) CheckHealth(ctx context.Context, probe Probe, onChange func(t *Target, healthy bool, err error)) {
	hc := p.Config.HealthCheck
	if hc == nil {
		return
	}
	interval := hc.Interval.D()
	if interval <= 0 {
		interval = DefaultInterval
	}
	timeout := hc.Timeout.D()
	if timeout <= 0 || timeout > interval {
		timeout = interval
	}
	up, down := hc.Healthy, hc.Unhealthy
	if up <= 0 {
		up = DefaultHealthy
	}
	if down <= 0 {
		down = DefaultUnhealthy
	}
	good := make([]int, len(p.Targets))
	bad := make([]int, len(p.Targets))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for i, t := range p.Targets {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			err := probe(pctx, t, hc.Path)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				good[i], bad[i] = good[i]+1, 0
				if good[i] >= up && t.unhealthy.CompareAndSwap(true, false) && onChange != nil {
					onChange(t, true, nil)
				}
				continue
			}
			good[i], bad[i] = 0, bad[i]+1
			if bad[i] >= down && t.unhealthy.CompareAndSwap(false, true) && onChange != nil {
				onChange(t, false, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Idempotent reports whether a method may be retried without the upstream
// seeing a repeated side effect (RFC 9110 §9.2.2).
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Failure kinds an attempt can end with, as retries.on names them.
const (
	ConnectError = "connect-error"
	Timeout      = "timeout"
)

// RetryOn reports whether the upstream's retry policy covers an attempt that
// ended with kind (ConnectError, Timeout, or "" for an answer) and status,
// for method, after attempt attempts (1 for the first). Requests whose body
// was already streamed to the upstream cannot be replayed; the caller checks
// that.
func (p *Pool) RetryOn(method string, attempt int, kind string, status int) bool {
	r := p.Config.Retries
	if r == nil || attempt >= 1+r.Attempts {
		return false
	}
	if !r.Unsafe && !Idempotent(method) && kind != ConnectError {
		// A request that never reached the upstream is safe to send again
		// whatever its method.
		return false
	}
	if kind != "" {
		return slices.Contains(r.On, kind)
	}
	return slices.Contains(r.On, strconv.Itoa(status))
}

// Failed classifies an answered status for the circuit breaker: statuses the
// retry policy lists count as failures, as do 502, 503 and 504 always.
func (p *Pool) Failed(status int) bool {
	if status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout {
		return true
	}
	if r := p.Config.Retries; r != nil && status >= 500 {
		return slices.Contains(r.On, strconv.Itoa(status))
	}
	return false
}
