package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/gateway"
	"github.com/gwcdev/gwc/runtime/h1"
	"github.com/gwcdev/gwc/runtime/header"
	"github.com/gwcdev/gwc/runtime/metrics"
	"github.com/gwcdev/gwc/runtime/problem"
)

// Front is what every engine does around the gateway, written once: the
// guard that turns a panic into a 500, the problem for a request that could
// not be read, the fields the engine sets on every answer, and the accept
// loop. It is safe for concurrent use.
type Front struct {
	log, access *slog.Logger
	metrics     *metrics.Metrics
	internal    metrics.Rejection
}

// NewFront returns the front of a server logging to log, recording the
// requests it refuses in access (nil: none), and counting in m.
func NewFront(log, access *slog.Logger, m *metrics.Metrics) *Front {
	return &Front{log: log, access: access, metrics: m, internal: m.Rejection(problem.InternalError.Slug)}
}

// Guard runs serve, turning a panic (a gwc bug) into a 500 problem that
// closes the connection, logged and counted; false when serve panicked.
func (f *Front) Guard(ctx *fasthttp.RequestCtx, serve func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			f.log.Error("panic serving a request", "panic", fmt.Sprint(v), "method", string(ctx.Request.Header.Method()),
				"path", string(ctx.Request.Header.RequestURI()))
			p := problem.Problem{Reason: problem.InternalError, Detail: "the gateway failed on this request"}
			p.Write(&ctx.Response)
			ctx.Response.SetConnectionClose()
			f.internal.Inc()
			ok = false
		}
	}()
	serve()
	return true
}

// Refuse answers a request the engine could not read with reason's
// problem, counted, and closes the connection after it: where the next
// request starts is not known.
//
// The answer has an X-Request-Id, as the gateway's have, and the request is
// recorded in the access log with what could be read of it.
func (f *Front) Refuse(ctx *fasthttp.RequestCtx, reason problem.Reason, detail string) {
	var idBuf [32]byte
	id := gateway.AppendRequestID(idBuf[:0])
	p := problem.Problem{Reason: reason, Detail: detail, RequestID: string(id)}
	p.Write(&ctx.Response)
	ctx.Response.Header.SetCanonical(header.XRequestID, id)
	ctx.Response.SetConnectionClose()
	f.metrics.Rejection(reason.Slug).Inc()
	if f.access != nil {
		h := &ctx.Request.Header
		f.access.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("request_id", string(id)), slog.String("remote_addr", ctx.RemoteIP().String()),
			slog.String("method", clip(h.Method())), slog.String("path", clip(h.RequestURI())),
			slog.Int("status", reason.Status), slog.Float64("duration_ms", 0),
			slog.String("answered_by", "gwc"), slog.String("reason", reason.Slug))
	}
}

// clip is b as a string for a log, at most 256 bytes of it: what a client
// sends in a request it could not get read is not to fill the log.
func clip(b []byte) string { return string(b[:min(len(b), 256)]) }

// RefuseHead refuses a request whose head err (of h1.HeadEnd or
// h1.Parser.Request) kept from being read; buf is what had come of it and
// maxHeader the head's limit. A head too large is a 414 when its request
// line alone is past the limit, else a 431.
func (f *Front) RefuseHead(ctx *fasthttp.RequestCtx, err error, buf []byte, maxHeader int) {
	switch {
	case errors.Is(err, h1.ErrHeadTooLarge) && bytes.IndexByte(buf[:min(len(buf), maxHeader)], '\n') < 0:
		f.Refuse(ctx, problem.URITooLong, fmt.Sprintf("the request line exceeds %d bytes", maxHeader))
	case errors.Is(err, h1.ErrHeadTooLarge):
		f.Refuse(ctx, problem.HeaderTooLarge, fmt.Sprintf("the request line and header exceed %d bytes", maxHeader))
	case errors.Is(err, h1.ErrBareLF):
		f.Refuse(ctx, problem.BadRequest, "a line of the request head ends in a bare LF (CRLF is required)")
	default:
		f.Refuse(ctx, problem.BadRequest, "the request could not be parsed")
	}
}

// Finish sets what the engine sets on every answer: HTTP/1.1, the
// connection's fate (keep says it stays open; an HTTP/1.0 client that keeps
// it is told so), and no body for a HEAD. Date is fasthttp's: its response
// header writes the current second's whatever a handler sets, from a clock
// it refreshes once a second.
func (f *Front) Finish(ctx *fasthttp.RequestCtx, keep, http10 bool) {
	req, resp := &ctx.Request, &ctx.Response
	resp.Header.SetProtocol(http11)
	if !keep {
		resp.SetConnectionClose()
	} else if http10 {
		resp.Header.Set("Connection", "keep-alive")
	}
	if req.Header.IsHead() {
		resp.SkipBody = true
	}
	resp.Header.SetNoDefaultContentType(true)
}

var http11 = []byte("HTTP/1.1")

// Accept accepts connections from ln and hands each to serve until ln is
// closed (nil) or fails for good. A failure such as running out of file
// descriptors backs off (5 ms doubling to 1 s, as net/http does) and goes
// on, rather than stopping the listener.
func Accept(ln net.Listener, serve func(net.Conn)) error {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if !errors.As(err, &ne) {
				// Not a network error: nothing suggests it passes.
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		serve(c)
	}
}

// PrefixReader reads Rest, then R: a connection whose first bytes were read
// already (by another engine, or ahead of time).
type PrefixReader struct {
	Rest []byte
	R    io.Reader
}

func (p *PrefixReader) Read(b []byte) (int, error) {
	if len(p.Rest) > 0 {
		n := copy(b, p.Rest)
		p.Rest = p.Rest[n:]
		return n, nil
	}
	return p.R.Read(b)
}
