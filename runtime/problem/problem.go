// Package problem renders the gateway's own error answers as RFC 9457
// problem details (application/problem+json), so that every error a client
// gets from gwc — no route, a failed validation, an upstream down — has one
// machine-readable shape.
//
// The "type" of every problem is a URI under TypeBase naming the reason
// (for example https://gwc.dev/problems/validation), stable across versions,
// so clients and dashboards can branch on it; "title" is the reason's fixed
// human name and "detail" says what happened to this request.
package problem

import (
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// ContentType is the media type of a problem answer.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type URI.
const TypeBase = "https://gwc.dev/problems/"

// Reason is one kind of problem: its type slug, title and status.
type Reason struct {
	Slug   string
	Title  string
	Status int
}

// The reasons the runtime answers with. Metrics count rejections by Slug.
var (
	NotFound            = Reason{"not-found", "No route matches the request", 404}
	MethodNotAllowed    = Reason{"method-not-allowed", "Method not allowed on this path", 405}
	BadPath             = Reason{"bad-path", "The request path is not acceptable", 400}
	Validation          = Reason{"validation", "The request does not match the API's schema", 400}
	UnsupportedMedia    = Reason{"unsupported-media-type", "Unsupported request media type", 415}
	BodyTooLarge        = Reason{"body-too-large", "Request body too large", 413}
	NotImplemented      = Reason{"no-example", "The mock has no example for this operation", 501}
	BadGateway          = Reason{"bad-gateway", "The upstream failed", 502}
	Unavailable         = Reason{"upstream-unavailable", "No healthy upstream target", 503}
	GatewayTimeout      = Reason{"gateway-timeout", "The upstream did not answer in time", 504}
	Unauthorized        = Reason{"unauthorized", "Authentication required", 401}
	Forbidden           = Reason{"forbidden", "Not allowed", 403}
	TooManyRequests     = Reason{"rate-limited", "Too many requests", 429}
	InternalError       = Reason{"internal", "Internal gateway error", 500}
	RequestTimeout      = Reason{"request-timeout", "The request was not received in time", 408}
	HeaderTooLarge      = Reason{"header-too-large", "Request header fields too large", 431}
	URITooLong          = Reason{"uri-too-long", "Request line too long", 414}
	VersionNotSupported = Reason{"http-version-not-supported", "HTTP version not supported", 505}
	NotAcceptable       = Reason{"not-acceptable", "No acceptable representation", 406}
	ServiceOverloaded   = Reason{"overloaded", "The gateway is shutting down or overloaded", 503}
	BadRequest          = Reason{"bad-request", "The request is malformed", 400}
	// AuthUnavailable refuses an operation whose security requirement names
	// a scheme this runtime cannot check: it is never served unchecked.
	AuthUnavailable = Reason{"auth-unavailable", "Authentication is not available", 500}
	// LimitUnavailable refuses a request whose rate limit's store (Redis)
	// cannot answer, when the spec says on_error: closed.
	LimitUnavailable = Reason{"rate-limit-unavailable", "The rate limit cannot be checked", 503}
	// AuthorizerUnavailable refuses a request the external authorizer could
	// not decide on, when the spec says on_error: deny.
	AuthorizerUnavailable = Reason{"authorizer-unavailable", "The authorizer could not decide", 503}
	// ClientClosed is no answer: the client went away before its answer
	// was ready. Its status is nginx's 499, for logs and metrics only.
	ClientClosed = Reason{"client-closed", "The client closed the connection", 499}
)

// Reasons lists every reason above, so that metrics can resolve their
// series before the first request.
var Reasons = []Reason{
	NotFound, MethodNotAllowed, BadPath, Validation, UnsupportedMedia, BodyTooLarge, NotImplemented,
	BadGateway, Unavailable, GatewayTimeout, Unauthorized, Forbidden, TooManyRequests, InternalError,
	RequestTimeout, HeaderTooLarge, NotAcceptable, ServiceOverloaded, BadRequest, AuthUnavailable, LimitUnavailable,
	AuthorizerUnavailable, ClientClosed, URITooLong, VersionNotSupported,
}

// Type is the reason's type URI.
func (r Reason) Type() string { return TypeBase + r.Slug }

// FieldError is one failing part of a request: where (a JSON pointer into
// the request as gwc sees it: /path/id, /query/limit, /header/X-Id,
// /body/items/0/name) and what.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Problem is one problem answer.
type Problem struct {
	Reason Reason
	// Detail explains this occurrence; empty leaves it out.
	Detail string
	// Instance is the request path, when known.
	Instance string
	// RequestID lets the client quote the request to the API's owners.
	RequestID string
	// Errors lists failing fields of a validation problem.
	Errors []FieldError
}

// AppendJSON appends p as a JSON object to dst. Hand-written rather than
// encoding/json so that error answers, which attackers can trigger at will,
// cost no reflection and almost no allocation.
func (p *Problem) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, p.Reason.Type())
	dst = append(dst, `,"title":`...)
	dst = appendString(dst, p.Reason.Title)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(p.Reason.Status), 10)
	if p.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = appendString(dst, p.Detail)
	}
	if p.Instance != "" {
		dst = append(dst, `,"instance":`...)
		dst = appendString(dst, p.Instance)
	}
	if p.RequestID != "" {
		dst = append(dst, `,"requestId":`...)
		dst = appendString(dst, p.RequestID)
	}
	if len(p.Errors) > 0 {
		dst = append(dst, `,"errors":[`...)
		for i, e := range p.Errors {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"pointer":`...)
			dst = appendString(dst, e.Pointer)
			dst = append(dst, `,"detail":`...)
			dst = appendString(dst, e.Detail)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}', '\n')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, replacing invalid UTF-8 with
// U+FFFD (details may quote what a client sent) and escaping what JSON and
// HTML-sniffing clients need escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// Write makes p the whole of resp: its status, application/problem+json,
// Cache-Control: no-store (an answer about one request, for no cache to
// keep), and the document. Every problem gwc answers goes through it,
// whichever part of gwc refuses the request.
func (p *Problem) Write(resp *fasthttp.Response) {
	resp.Reset()
	resp.SetStatusCode(p.Reason.Status)
	resp.Header.SetContentType(ContentType)
	resp.Header.Set("Cache-Control", "no-store")
	var buf [1024]byte
	resp.SetBody(p.AppendJSON(buf[:0]))
}
