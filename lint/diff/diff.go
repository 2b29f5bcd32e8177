// Package diff compares two versions of an API, as gwc compiles them, and
// says what the change does to existing clients: what breaks them (an
// operation removed, a parameter made required, an enum narrowed, a response
// property removed, security they must now meet) and what the gateway now
// does to them (authentication, rate limits, body limits, CORS, upstreams,
// path rewrites, timeouts).
//
// Each side is a spec (loaded and resolved by compiler.Analyze, read from the
// file system or from a git commit) or a built bundle (.gwb). Operations are
// matched by method and full path template; parameters, bodies and security
// are read from the resolved operations (the bundle's view, the same for
// specs and bundles), schemas from the spec's own nodes so that every change
// is placed at file:line:col, and gateway policy from the operations'
// effective x-gateway policy.
package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
)

// Level says whom a change concerns.
type Level uint8

const (
	// Breaking changes break existing clients: calls that worked fail, or
	// answers no longer hold what clients read.
	Breaking Level = iota
	// Gateway changes are the gateway treating clients differently: new
	// authentication, lower limits, another upstream.
	Gateway
	// Info changes break no one: operations added, deprecations.
	Info
)

func (l Level) String() string {
	switch l {
	case Breaking:
		return "breaking"
	case Gateway:
		return "gateway"
	}
	return "info"
}

// ParseLevel accepts the names String returns.
func ParseLevel(s string) (Level, bool) {
	for _, l := range []Level{Breaking, Gateway, Info} {
		if l.String() == s {
			return l, true
		}
	}
	return 0, false
}

// Kind is one kind of change, with a stable id.
type Kind struct {
	ID    string
	Level Level
	Title string
}

// The kinds of change, in the order docs/diff.md lists them.
var (
	KindPathRemoved              = Kind{"diff/path-removed", Breaking, "a path and all its operations removed"}
	KindOperationRemoved         = Kind{"diff/operation-removed", Breaking, "an operation (method) removed"}
	KindParameterAddedRequired   = Kind{"diff/parameter-added-required", Breaking, "a new required parameter"}
	KindParameterMadeRequired    = Kind{"diff/parameter-made-required", Breaking, "an optional parameter made required"}
	KindRequestBodyRequired      = Kind{"diff/request-body-required", Breaking, "a request body added as required, or made required"}
	KindMediaTypeRemoved         = Kind{"diff/media-type-removed", Breaking, "a request media type no longer accepted"}
	KindPropertyAddedRequired    = Kind{"diff/request-property-added-required", Breaking, "a new required request-body property"}
	KindPropertyMadeRequired     = Kind{"diff/request-property-made-required", Breaking, "an optional request-body property made required"}
	KindTypeChanged              = Kind{"diff/type-changed", Breaking, "a schema's type narrowed (requests) or changed (responses)"}
	KindFormatChanged            = Kind{"diff/format-changed", Breaking, "a schema's format added or changed"}
	KindEnumNarrowed             = Kind{"diff/enum-narrowed", Breaking, "a request enum value removed, or an enum added"}
	KindConstraintNarrowed       = Kind{"diff/constraint-narrowed", Breaking, "a request bound tightened: maxLength lowered, minimum raised, pattern changed..."}
	KindResponseRemoved          = Kind{"diff/response-removed", Breaking, "a success response (2XX status) removed"}
	KindResponsePropertyRemoved  = Kind{"diff/response-property-removed", Breaking, "a response property removed"}
	KindResponsePropertyOptional = Kind{"diff/response-property-optional", Breaking, "a required response property made optional"}
	KindSecurityChanged          = Kind{"diff/security-changed", Breaking, "security clients must now meet: added, or an alternative dropped"}
	KindSecuritySchemeChanged    = Kind{"diff/security-scheme-changed", Breaking, "a security scheme's type, location or name changed"}

	KindAuthChanged        = Kind{"diff/gateway-auth-changed", Gateway, "gateway authentication added or changed: authorizer, JWT or key settings"}
	KindRateLimitLowered   = Kind{"diff/rate-limit-lowered", Gateway, "a rate limit added or lowered"}
	KindMaxBodyLowered     = Kind{"diff/max-body-lowered", Gateway, "the request body limit (max_body) lowered"}
	KindCORSOriginRemoved  = Kind{"diff/cors-origin-removed", Gateway, "a CORS origin no longer allowed"}
	KindUpstreamChanged    = Kind{"diff/upstream-changed", Gateway, "an operation's upstream, or an upstream's targets, changed"}
	KindPathRewriteChanged = Kind{"diff/path-rewrite-changed", Gateway, "the upstream path rewrite changed"}
	KindTimeoutLowered     = Kind{"diff/timeout-lowered", Gateway, "a timeout added or lowered"}

	KindOperationAdded      = Kind{"diff/operation-added", Info, "an operation added"}
	KindOperationDeprecated = Kind{"diff/operation-deprecated", Info, "an operation deprecated"}
	KindParameterRemoved    = Kind{"diff/parameter-removed", Info, "a parameter removed (clients that send it are not refused)"}
	KindResponseRemovedInfo = Kind{"diff/error-response-removed", Info, "a non-success response removed"}
	KindResponseEnumAdded   = Kind{"diff/response-enum-value-added", Info, "a response enum value added (strict clients may not know it)"}
	KindSecurityRemoved     = Kind{"diff/security-removed", Info, "an operation made public"}
)

// Kinds lists every kind of change.
var Kinds = []Kind{
	KindPathRemoved, KindOperationRemoved, KindParameterAddedRequired, KindParameterMadeRequired,
	KindRequestBodyRequired, KindMediaTypeRemoved, KindPropertyAddedRequired, KindPropertyMadeRequired,
	KindTypeChanged, KindFormatChanged, KindEnumNarrowed, KindConstraintNarrowed, KindResponseRemoved,
	KindResponsePropertyRemoved, KindResponsePropertyOptional, KindSecurityChanged, KindSecuritySchemeChanged,
	KindAuthChanged, KindRateLimitLowered, KindMaxBodyLowered, KindCORSOriginRemoved, KindUpstreamChanged,
	KindPathRewriteChanged, KindTimeoutLowered,
	KindOperationAdded, KindOperationDeprecated, KindParameterRemoved, KindResponseRemovedInfo,
	KindResponseEnumAdded, KindSecurityRemoved,
}

// KindByID returns the kind with id, or false.
func KindByID(id string) (Kind, bool) {
	for _, k := range Kinds {
		if k.ID == id {
			return k, true
		}
	}
	return Kind{}, false
}

// Change is one difference between the two versions.
type Change struct {
	Kind Kind
	// Operation is "METHOD /path" of the operation concerned, "" for a
	// change of a shared part (a security scheme, an upstream).
	Operation string
	Message   string
	// Pos is the place in NEW, or in OLD for what NEW no longer has.
	Pos diag.Pos
	// Acknowledged says why a breaking change does not fail the run: "--allow"
	// or the x-gwc-breaking marker's place; "" when it is not.
	Acknowledged string
}

// Diagnostic is c as a finding: unacknowledged breaking changes are errors,
// acknowledged ones and gateway changes warnings, the rest notes.
func (c Change) Diagnostic() diag.Diagnostic {
	sev := diag.Info
	msg := c.Message
	switch {
	case c.Kind.Level == Breaking && c.Acknowledged == "":
		sev = diag.Error
	case c.Kind.Level == Breaking:
		sev = diag.Warning
		msg += " (acknowledged by " + c.Acknowledged + ")"
	case c.Kind.Level == Gateway:
		sev = diag.Warning
	}
	if c.Operation != "" {
		msg = c.Operation + ": " + msg
	}
	return diag.Diagnostic{Severity: sev, Code: c.Kind.ID, Message: msg, Pos: c.Pos}
}

// Result is what Compare found.
type Result struct {
	Old, New string // the sides as the user named them
	Changes  []Change
}

// Count returns how many changes have level l, and how many of those are
// acknowledged.
func (r *Result) Count(l Level) (n, acknowledged int) {
	for _, c := range r.Changes {
		if c.Kind.Level == l {
			n++
			if c.Acknowledged != "" {
				acknowledged++
			}
		}
	}
	return n, acknowledged
}

// Fails reports whether a change of level at most l is not acknowledged.
func (r *Result) Fails(l Level) bool {
	for _, c := range r.Changes {
		if c.Kind.Level <= l && c.Acknowledged == "" {
			return true
		}
	}
	return false
}

// Diagnostics returns every change as a finding, in order.
func (r *Result) Diagnostics() diag.Diagnostics {
	ds := make(diag.Diagnostics, 0, len(r.Changes))
	for _, c := range r.Changes {
		ds = append(ds, c.Diagnostic())
	}
	return ds
}

func sortChanges(cs []Change) {
	slices.SortStableFunc(cs, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Kind.Level, b.Kind.Level),
			cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Kind.ID, b.Kind.ID), cmp.Compare(a.Message, b.Message))
	})
}

// quoteList is `a`, `b` and `c`.
func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "`" + x + "`"
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
