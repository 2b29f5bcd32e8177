// Package server runs gateways: the public listener (an engine: package
// engine and its loop and goroutine engines; HTTP/2 over TLS by
// x/net/http2), the admin listener (net/http: /healthz, /readyz, /metrics),
// hot reload and graceful shutdown.
//
// Reload follows the order that keeps every request answered: load and
// check the new bundles, build the whole new Gateway, start it, swap it in
// with one atomic store, then stop the old one's background work. Requests
// already inside the old gateway finish there; nothing they use is closed.
// A bundle that fails to load or build never replaces the one being served.
//
// Shutdown (the context given to Run ending) marks the server not ready,
// stops accepting, closes idle connections, lets in-flight requests finish
// (their answers say Connection: close) for up to ShutdownTimeout, and then
// returns.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/cache"
	"github.com/gwcdev/gwc/runtime/engine"
	"github.com/gwcdev/gwc/runtime/engine/goroutine"
	"github.com/gwcdev/gwc/runtime/engine/loop"
	"github.com/gwcdev/gwc/runtime/gateway"
	"github.com/gwcdev/gwc/runtime/metrics"
	"github.com/gwcdev/gwc/runtime/proxy"
	"github.com/gwcdev/gwc/runtime/ratelimit"
)

// Defaults of Options.
const (
	DefaultListen            = ":8080"
	DefaultAdmin             = "127.0.0.1:9090"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 75 * time.Second // nginx's keepalive_timeout
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultShutdownTimeout   = 30 * time.Second
)

// The engines of Options.Engine.
const (
	// EngineLoop serves on event loops (package loop): the default for
	// plain HTTP/1.1.
	EngineLoop = "loop"
	// EngineGoroutine serves each connection on a goroutine (package
	// goroutine): TLS always, plain HTTP/1.1 when asked.
	EngineGoroutine = "goroutine"
	// EngineFastHTTP is the name the goroutine engine had when it was
	// fasthttp's server; it is taken for EngineGoroutine, with a warning,
	// for one release.
	EngineFastHTTP = "fasthttp"
)

// DefaultEngine serves plain HTTP/1.1 when Options.Engine is "".
const DefaultEngine = EngineLoop

// MaxLoops is the most event loops Options.Loops may ask for (gnet's own
// limit).
const MaxLoops = loop.MaxLoops

// Loaded is one bundle to serve, with what identifies it in logs and metrics.
type Loaded struct {
	Bundle *bundle.Bundle
	// Name is where it came from (a file).
	Name string
	// Digest is the payload's SHA-256 in hex; "" for a bundle compiled in
	// memory.
	Digest string
	// Files are the files it was made from, for Watch; none means Name.
	Files []string
}

// LoadFunc loads the bundles to serve; it is called at start and on every
// reload.
type LoadFunc func(ctx context.Context) ([]Loaded, error)

// Options configure a Server.
type Options struct {
	// Listen and Admin are the addresses of the public and admin listeners;
	// Admin "" disables the admin listener.
	Listen string
	Admin  string
	// Load loads the bundles; required.
	Load LoadFunc
	// Log receives operational events; nil discards them.
	Log *slog.Logger
	// AccessLog receives one record per request; nil turns it off.
	AccessLog *slog.Logger

	// ReadHeaderTimeout bounds reading a request's header (from its first
	// byte on a kept-alive connection); ReadTimeout bounds reading its body;
	// WriteTimeout bounds writing the answer; IdleTimeout closes a kept-alive
	// connection with no request. MaxHeaderBytes bounds the request line
	// and header (431 past it). Zero means the Default above.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// ShutdownTimeout bounds the drain when Run's context ends.
	ShutdownTimeout time.Duration
	// Pprof serves Go's profiles under /debug/pprof/ on the admin listener.
	Pprof bool
	// CacheBytes is the memory budget of the response cache (when no Redis
	// store is configured); zero means gateway.DefaultCacheBytes.
	CacheBytes int64
	// Engine is what serves the public listener: "loop" (event loops, the
	// default) or "goroutine" (a goroutine per connection). A TLS listener
	// is the goroutine engine's.
	Engine string
	// Loops is how many event loops the loop engine runs; 0 means one per
	// CPU Go may use (GOMAXPROCS). The engine gives Go one P more than it
	// runs loops (see spareP in loop.go).
	Loops int
	// TLSCert and TLSKey, when set, make the public listener TLS (HTTP/1.1);
	// the files are reloaded when they change. TLSClientCA checks client
	// certificates against its PEM certificates.
	TLSCert, TLSKey, TLSClientCA string
}

// Server serves the gateway of the bundles Options.Load gives.
type Server struct {
	opts     Options
	log      *slog.Logger
	metrics  *metrics.Metrics
	clients  *proxy.Clients
	limits   *ratelimit.Stores
	cache    *cache.Memory
	certs    *certSource
	h2       *h2Server // HTTP/2 over TLS; nil without TLS
	gw       atomic.Pointer[gateway.Gateway]
	loaded   atomic.Pointer[[]Loaded]
	reloadMu sync.Mutex
	draining atomic.Bool

	front *engine.Front
	// conns is the goroutine engine: it serves TLS, what the loops hand
	// off, and plain HTTP/1.1 when it is the engine asked for.
	conns *goroutine.Engine
	// loop is the event-loop engine, when it serves the listener.
	loop    *loop.Engine
	ln      net.Listener
	admin   *http.Server
	adminLn net.Listener
}

// New loads the bundles, builds their gateway and opens the listeners; Run
// serves. Errors name what failed: the bundle, or the address.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Load == nil {
		return nil, errors.New("server: Options.Load is required")
	}
	setDefaults(&opts)
	s := &Server{opts: opts, log: opts.Log, metrics: metrics.New(), clients: proxy.NewClients(), limits: ratelimit.NewStores(),
		cache: cache.NewMemory(cmp.Or(opts.CacheBytes, gateway.DefaultCacheBytes))}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	loaded, err := opts.Load(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.build(loaded, nil)
	if err != nil {
		return nil, &InputError{err}
	}
	s.front = engine.NewFront(s.log, opts.AccessLog, s.metrics)
	ecfg := engine.Config{Gateway: s.gw.Load, Front: s.front, Log: s.log, Draining: &s.draining,
		ReadHeaderTimeout: opts.ReadHeaderTimeout, ReadTimeout: opts.ReadTimeout, WriteTimeout: opts.WriteTimeout,
		IdleTimeout: opts.IdleTimeout, MaxHeaderBytes: opts.MaxHeaderBytes}
	s.conns = goroutine.New(ecfg)
	var tcfg *tls.Config
	if opts.TLSCert != "" || opts.TLSKey != "" {
		if opts.TLSCert == "" || opts.TLSKey == "" {
			return nil, &InputError{fmt.Errorf("--tls-cert and --tls-key go together")}
		}
		if s.certs, err = newCertSource(opts.TLSCert, opts.TLSKey, s.log); err != nil {
			return nil, &InputError{err}
		}
		if tcfg, err = tlsConfig(s.certs, opts.TLSClientCA); err != nil {
			return nil, &InputError{err}
		}
	} else if opts.TLSClientCA != "" {
		return nil, &InputError{fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")}
	}
	switch opts.Engine {
	case "":
		if tcfg == nil {
			opts.Engine = DefaultEngine
		} else {
			opts.Engine = EngineGoroutine
		}
	case EngineFastHTTP:
		s.log.Warn("--engine fasthttp is now --engine goroutine (gwc's own HTTP/1.1 framing); the old name goes in the next release")
		opts.Engine = EngineGoroutine
	}
	switch opts.Engine {
	case EngineGoroutine:
	case EngineLoop:
		if tcfg != nil {
			return nil, &InputError{fmt.Errorf("the loop engine serves plain HTTP/1.1 only: with --tls-cert, the goroutine engine serves")}
		}
		if s.loop, err = loop.New(ecfg, opts.Loops, s.conns.Adopt); err != nil {
			return nil, &InputError{err}
		}
	default:
		return nil, &InputError{fmt.Errorf("unknown engine %q: the engines are %s and %s", opts.Engine, EngineLoop, EngineGoroutine)}
	}
	s.opts.Engine = opts.Engine
	if s.ln, err = net.Listen("tcp", opts.Listen); err != nil {
		return nil, &ListenError{Addr: opts.Listen, Err: err}
	}
	if tcfg != nil {
		s.h2 = newH2Server(s)
		s.ln = newALPNListener(s.ln, tcfg, s.opts.ReadHeaderTimeout, s.h2.serveConn)
	}
	if opts.Admin != "" {
		if s.adminLn, err = net.Listen("tcp", opts.Admin); err != nil {
			s.ln.Close()
			return nil, &ListenError{Addr: opts.Admin, Admin: true, Err: err}
		}
		s.admin = &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	}
	s.swap(g, loaded)
	return s, nil
}

// InputError is a bundle that is there but cannot be served: corrupt,
// refused (signature, format version), or not buildable into a gateway (an
// upstream URL the runtime cannot use, bundles whose routes clash). A
// command exits 1 for it, as for any input with errors.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// ListenError is a listener New could not open.
type ListenError struct {
	Addr  string
	Admin bool
	Err   error
}

func (e *ListenError) Error() string {
	what := ""
	if e.Admin {
		what = " (admin)"
	}
	return fmt.Sprintf("cannot listen on %s%s: %v", e.Addr, what, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

func setDefaults(o *Options) {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
}

// Addr is the public listener's address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// AdminAddr is the admin listener's address, nil when it is disabled.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

func (s *Server) build(loaded []Loaded, prev *gateway.Gateway) (*gateway.Gateway, error) {
	bs := make([]*bundle.Bundle, len(loaded))
	for i, l := range loaded {
		bs[i] = l.Bundle
	}
	dirs := make([]string, len(loaded))
	for i, l := range loaded {
		if l.Name != "" {
			dirs[i] = filepath.Dir(l.Name)
		}
	}
	return gateway.New(bs, prev, gateway.Config{Metrics: s.metrics, Clients: s.clients, Log: s.log, AccessLog: s.opts.AccessLog,
		Limits: s.limits, Cache: s.cache, ClientCerts: s.opts.TLSClientCA != "" && s.opts.TLSCert != "", SecretDirs: dirs})
}

// swap makes g the gateway being served and stops the previous one.
func (s *Server) swap(g *gateway.Gateway, loaded []Loaded) {
	g.Start()
	prev := s.gw.Swap(g)
	s.loaded.Store(&loaded)
	if prev != nil {
		prev.Close()
	}
	infos := make([]metrics.BundleInfo, len(loaded))
	for i, l := range loaded {
		infos[i] = metrics.BundleInfo{Title: l.Bundle.API.Title, Version: l.Bundle.API.Version, Digest: l.Digest}
	}
	s.metrics.Bundles(infos...)
}

// Reload loads the bundles again and serves them in place of the current
// ones. On error the current ones keep being served, and the error says why.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	loaded, err := s.opts.Load(ctx)
	if err == nil {
		var g *gateway.Gateway
		if g, err = s.build(loaded, s.gw.Load()); err == nil {
			s.swap(g, loaded)
			s.metrics.Reload(true)
			for _, l := range loaded {
				s.log.Info("serving bundle", "bundle", l.Name, "title", l.Bundle.API.Title, "version", l.Bundle.API.Version,
					"operations", len(l.Bundle.Operations), "digest", short(l.Digest))
			}
			return nil
		}
	}
	s.metrics.Reload(false)
	s.log.Error("reload failed; still serving the previous bundles", "error", err)
	return err
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// Run serves until ctx ends, then drains. It returns nil after a clean
// drain, or the error that stopped a listener.
func (s *Server) Run(ctx context.Context) error {
	for _, l := range *s.loaded.Load() {
		s.log.Info("serving bundle", "bundle", l.Name, "title", l.Bundle.API.Title, "version", l.Bundle.API.Version,
			"operations", len(l.Bundle.Operations), "digest", short(l.Digest))
	}
	if s.loop != nil {
		s.log.Info("listening", "addr", s.ln.Addr().String(), "admin", addrString(s.adminLn), "engine", EngineLoop,
			"loops", s.loop.Loops(), "gomaxprocs", runtime.GOMAXPROCS(0))
	} else {
		s.log.Info("listening", "addr", s.ln.Addr().String(), "admin", addrString(s.adminLn), "engine", EngineGoroutine)
	}
	errc := make(chan error, 2)
	if s.certs != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go s.certs.watch(wctx)
	}
	var main engine.Engine = s.conns
	if s.loop != nil {
		main = s.loop
	}
	go func() { errc <- main.Serve(s.ln) }()
	if s.admin != nil {
		go func() {
			if err := s.admin.Serve(s.adminLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("admin listener: %w", err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.draining.Store(true)
	s.log.Info("shutting down: draining in-flight requests", "timeout", s.opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	var h2done chan struct{}
	if s.h2 != nil {
		// HTTP/2 connections get GOAWAY and finish their streams meanwhile.
		h2done = make(chan struct{})
		go func() { s.h2.base.Shutdown(sctx); close(h2done) }() //nolint:errcheck // bounded by sctx
	}
	s.ln.Close()
	if s.loop != nil {
		if err := s.loop.Shutdown(sctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("draining: %w", err)
		}
	}
	// The goroutine engine serves TLS, and what the loops handed it.
	if err := s.conns.Shutdown(sctx); err != nil && runErr == nil {
		runErr = fmt.Errorf("draining: %w", err)
	}
	if h2done != nil {
		<-h2done
	}
	if s.admin != nil {
		s.admin.Shutdown(sctx) //nolint:errcheck // the admin listener has nothing to drain that matters
	}
	if g := s.gw.Load(); g != nil {
		g.Close()
	}
	s.limits.Close()
	s.log.Info("stopped")
	return runErr
}

func addrString(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

// adminHandler serves /healthz (the process is up), /readyz (a gateway is
// loaded and the server is not draining) and /metrics.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n")) //nolint:errcheck
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		type info struct {
			Name       string `json:"name"`
			Title      string `json:"title"`
			Version    string `json:"version"`
			Digest     string `json:"digest,omitempty"`
			Operations int    `json:"operations"`
		}
		doc := struct {
			Status  string `json:"status"`
			Bundles []info `json:"bundles"`
		}{Status: "ready"}
		for _, l := range *s.loaded.Load() {
			doc.Bundles = append(doc.Bundles, info{l.Name, l.Bundle.API.Title, l.Bundle.API.Version, l.Digest, len(l.Bundle.Operations)})
		}
		w.Header().Set("Content-Type", "application/json")
		if s.draining.Load() {
			doc.Status = "draining"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(doc) //nolint:errcheck
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
	if s.opts.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// DigestHex formats a bundle header's digest for Loaded.Digest.
func DigestHex(h *bundle.Header) string { return hex.EncodeToString(h.Digest[:]) }
