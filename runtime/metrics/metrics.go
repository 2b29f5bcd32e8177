// Package metrics holds the gateway's Prometheus metrics. Label values are
// resolved once per bundle load into per-operation handles, so the request
// path only increments counters it already holds: no label hashing, no
// allocation.
//
// Exposed (all prefixed gwc_):
//
//	requests_total{operation,method,class}        answered requests, by status class (2xx...)
//	request_duration_seconds{operation}           time from request read to response written
//	upstream_duration_seconds{upstream}           time to the upstream's response headers
//	upstream_attempts_total{upstream,outcome}     attempts: ok, failure, retry
//	rejections_total{reason}                      requests answered by gwc itself, by problem type
//	upstream_target_healthy{upstream,target}      1 healthy, 0 down (active health checks)
//	bundle_info{title,version,digest}             1 for the bundle being served
//	bundle_reloads_total{result}                  hot reloads: ok, error
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Buckets of the latency histograms, in seconds: 250 µs to 10 s, dense where
// a gateway's latencies are.
var latencyBuckets = []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is one process's metrics; bundles come and go, the series stay.
type Metrics struct {
	Registry *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	upstream      *prometheus.HistogramVec
	attempts      *prometheus.CounterVec
	rejections    *prometheus.CounterVec
	targetHealthy *prometheus.GaugeVec
	bundleInfo    *prometheus.GaugeVec
	reloads       *prometheus.CounterVec
	storeErrors   *prometheus.CounterVec
	cache         *prometheus.CounterVec
	clients       *prometheus.CounterVec
}

// New returns metrics registered in a registry of their own, with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_requests_total", Help: "Requests answered, by operationId, method and status class.",
		}, []string{"operation", "method", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gwc_request_duration_seconds", Help: "Time from request read to response written, by operationId.",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gwc_upstream_duration_seconds", Help: "Time to the upstream's response headers, by upstream.",
			Buckets: latencyBuckets,
		}, []string{"upstream"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_upstream_attempts_total", Help: "Upstream attempts, by upstream and outcome (ok, failure, retry).",
		}, []string{"upstream", "outcome"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_rejections_total", Help: "Requests answered by gwc itself (problem+json), by reason.",
		}, []string{"reason"}),
		targetHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gwc_upstream_target_healthy", Help: "1 when the target passes its active health checks.",
		}, []string{"upstream", "target"}),
		bundleInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gwc_bundle_info", Help: "The bundle being served.",
		}, []string{"title", "version", "digest"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_bundle_reloads_total", Help: "Hot reloads, by result.",
		}, []string{"result"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_store_errors_total",
			Help: "Calls to the shared store (Redis) that failed, by use (rate_limit) and what gwc did (allowed, refused).",
		}, []string{"use", "action"}),
		clients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_client_requests_total",
			Help: "Requests of authenticated clients that the spec's secrets name (API key clients, htpasswd users), by client and status class.",
		}, []string{"client", "class"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwc_cache_requests_total",
			Help: "GET and HEAD requests of cached operations, by result: hit, miss (forwarded and stored when it may be), bypass (forwarded without the cache).",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.upstream, m.attempts, m.rejections, m.targetHealthy, m.bundleInfo, m.reloads, m.storeErrors, m.cache, m.clients,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// StoreError counts a failed store call for use, and what gwc did about it.
func (m *Metrics) StoreError(use, action string) prometheus.Counter {
	return m.storeErrors.WithLabelValues(use, action)
}

// Client is the pre-resolved request counters of one client, by status
// class.
type Client struct{ classes [6]prometheus.Counter }

// Client resolves the series of a client named by the spec's secrets (a
// bounded set: token subjects are not counted here).
func (m *Metrics) Client(name string) *Client {
	c := &Client{}
	for i, class := range classNames {
		c.classes[i] = m.clients.WithLabelValues(name, class)
	}
	return c
}

// Observe counts one answer to the client.
func (c *Client) Observe(status int) {
	i := status/100 - 1
	if i < 0 || i > 4 {
		i = 5
	}
	c.classes[i].Inc()
}

// CacheResult counts cache answers of one result.
func (m *Metrics) CacheResult(result string) prometheus.Counter {
	return m.cache.WithLabelValues(result)
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Operation is the pre-resolved metrics of one operation.
type Operation struct {
	classes  [6]prometheus.Counter // 1xx..5xx, and anything else
	duration prometheus.Observer
}

// classNames are the status classes, by index (status/100 - 1; 5 other).
var classNames = [6]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

// Operation resolves the handles of an operation.
func (m *Metrics) Operation(id, method string) *Operation {
	o := &Operation{duration: m.duration.WithLabelValues(id)}
	for i, c := range classNames {
		o.classes[i] = m.requests.WithLabelValues(id, method, c)
	}
	return o
}

// Observe records one answered request.
func (o *Operation) Observe(status int, elapsed time.Duration) {
	c := status/100 - 1
	if c < 0 || c > 4 {
		c = 5
	}
	o.classes[c].Inc()
	o.duration.Observe(elapsed.Seconds())
}

// Upstream is the pre-resolved metrics of one upstream.
type Upstream struct {
	duration           prometheus.Observer
	ok, failure, retry prometheus.Counter
	name               string
	targetHealthy      *prometheus.GaugeVec
}

// Upstream resolves the handles of an upstream.
func (m *Metrics) Upstream(name string) *Upstream {
	return &Upstream{
		duration: m.upstream.WithLabelValues(name),
		ok:       m.attempts.WithLabelValues(name, "ok"),
		failure:  m.attempts.WithLabelValues(name, "failure"),
		retry:    m.attempts.WithLabelValues(name, "retry"),
		name:     name, targetHealthy: m.targetHealthy,
	}
}

// Attempt records one upstream attempt: its time to response headers, and
// whether it failed and whether it is retried.
func (u *Upstream) Attempt(elapsed time.Duration, failed, retried bool) {
	u.duration.Observe(elapsed.Seconds())
	switch {
	case retried:
		u.retry.Inc()
	case failed:
		u.failure.Inc()
	default:
		u.ok.Inc()
	}
}

// TargetHealth sets a target's health gauge.
func (u *Upstream) TargetHealth(target string, healthy bool) {
	v := 0.0
	if healthy {
		v = 1
	}
	u.targetHealthy.WithLabelValues(u.name, target).Set(v)
}

// Rejection is a pre-resolved rejection counter.
type Rejection = prometheus.Counter

// Rejection resolves the counter of one rejection reason (a problem slug).
func (m *Metrics) Rejection(reason string) Rejection { return m.rejections.WithLabelValues(reason) }

// BundleInfo names a bundle being served.
type BundleInfo struct{ Title, Version, Digest string }

// Bundles records the bundles being served, replacing the previous ones.
func (m *Metrics) Bundles(bs ...BundleInfo) {
	m.bundleInfo.Reset()
	for _, b := range bs {
		m.bundleInfo.WithLabelValues(b.Title, b.Version, b.Digest).Set(1)
	}
}

// Reload counts a hot reload.
func (m *Metrics) Reload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("error").Inc()
	}
}
