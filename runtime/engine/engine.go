// Package engine is what gwc serve's engines share. An engine owns the
// bytes on the public listener's sockets: it reads requests, hands each to
// the gateway (package gateway, which holds every step of the request path,
// written once), and writes the answers. The engines live in packages of
// their own (loop: event loops, the default for plain HTTP/1.1; goroutine: a
// goroutine per connection, for TLS and what an event loop hands off) and
// share this package's front (front.go): the panic guard, the problem for
// what could not be read, the fields of every answer, the accept loop. Both
// frame HTTP/1.1 with package h1.
package engine

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/gwcdev/gwc/runtime/gateway"
)

// Engine serves a listener.
type Engine interface {
	// Serve serves the connections ln accepts until ln is closed; it
	// returns nil then, or the error that stopped it.
	Serve(ln net.Listener) error
	// Shutdown closes idle connections and waits for the requests being
	// served (their answers say Connection: close) until ctx ends, then
	// closes every connection. The listener is the caller's to close first.
	Shutdown(ctx context.Context) error
}

// Config is what the server gives an engine.
type Config struct {
	// Gateway returns the gateway to serve a request with: the server
	// swaps gateways on reload, and each request is served whole by the
	// one it started on.
	Gateway func() *gateway.Gateway
	// Front is the server's front (front.go).
	Front *Front
	// Log receives operational events.
	Log *slog.Logger
	// Draining is set when the server is shutting down: answers close
	// their connections.
	Draining *atomic.Bool
	// ReadHeaderTimeout bounds reading a request's head, from its first
	// byte; ReadTimeout its body; WriteTimeout writing an answer;
	// IdleTimeout the wait for a kept-alive connection's next request.
	// MaxHeaderBytes bounds a request's head (431 past it; 414 when its
	// request line alone is longer).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxHeaderBytes                                            int
}
