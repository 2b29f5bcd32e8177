// Package compiler turns an OpenAPI document with the x-gateway extension
// into a bundle: load → check → resolve → plan, each stage a file of its own.
// `gwc lint` runs the stages up to resolve (Check); `gwc build` runs them all
// (Compile) and encodes the result with runtime/bundle.
package compiler

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/compiler/xgateway"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// Options configures a compilation.
type Options struct {
	// Spec is the path of the OpenAPI document's entry file.
	Spec string
	// ReadFile reads spec files; nil reads the file system.
	ReadFile func(path string) ([]byte, error)
	// Lint adds the findings only `gwc lint` reports: what gwc accepts but
	// other OpenAPI tools do not, such as Redocly-style references.
	Lint bool
	// SourceDateEpoch, when set, is recorded as the build time (the
	// reproducible-builds convention); nil reads $SOURCE_DATE_EPOCH.
	SourceDateEpoch *int64
}

// Check loads the spec, validates the extension and resolves every operation's
// effective policy, stopping at the first stage that finds errors. The error
// is for I/O problems with the entry file; problems in the spec are
// diagnostics.
func Check(ctx context.Context, opts Options) (*Model, diag.Diagnostics, error) {
	loader := &spec.Loader{ReadFile: opts.ReadFile}
	doc, ds, err := loader.Load(opts.Spec)
	if err != nil {
		return nil, nil, err
	}
	if ds.HasErrors() || ctx.Err() != nil {
		ds.Sort()
		return nil, ds, ctx.Err()
	}
	if opts.Lint {
		ds = append(ds, nonStandardRefs(doc)...)
	}
	ds = append(ds, xgateway.Check(doc)...)
	if ds.HasErrors() {
		ds.Sort()
		return nil, ds, nil
	}
	m, rds := resolve(doc)
	ds = append(ds, rds...)
	ds.Sort()
	return m, ds, ctx.Err()
}

// Analyze makes the checks of Check as far as the document allows, for
// lint: it goes on past x-gateway errors (resolving reads only what the
// extension's check accepted), so that one run reports all it can. The
// document is nil when the entry file could not be loaded at all.
func Analyze(ctx context.Context, opts Options) (*Analysis, diag.Diagnostics, error) {
	loader := &spec.Loader{ReadFile: opts.ReadFile}
	doc, ds, err := loader.Load(opts.Spec)
	if err != nil {
		return nil, nil, err
	}
	a := &Analysis{Doc: doc}
	// Errors in files the entry $refs (a syntax error, a missing file) leave
	// those references unresolved, and everything else can still be
	// checked; only an entry file that did not parse stops here.
	if doc == nil || doc.Root == nil || ctx.Err() != nil {
		ds.Sort()
		return a, ds, ctx.Err()
	}
	ds = append(ds, nonStandardRefs(doc)...)
	ds = append(ds, xgateway.Check(doc)...)
	m, rds := resolve(doc)
	a.Model = m
	ds = append(ds, rds...)
	ds.Sort()
	return a, ds, ctx.Err()
}

// Analysis is what Analyze could make of a spec: the loaded document (nil
// when the entry file could not be loaded) and the Model resolved from it
// (nil when the entry file did not parse; made even when checks found
// errors, which then say what it lacks).
type Analysis struct {
	Doc   *spec.Document
	Model *Model
}

// nonStandardRefs warns about the Redocly-style references the loader
// resolved where OpenAPI allows none.
func nonStandardRefs(doc *spec.Document) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, n := range doc.NonStandardRefs {
		ref, _ := n.RefString()
		ds.Warnf(n.Get("$ref").Pos(), CodeNonStandardRef, "$ref %q is where OpenAPI allows no reference: gwc and Redocly resolve it, other OpenAPI tools do not", ref)
	}
	return ds
}

// Compile runs every stage and returns the bundle, or nil when the spec has
// errors.
func Compile(ctx context.Context, opts Options) (*bundle.Bundle, diag.Diagnostics, error) {
	m, ds, err := Check(ctx, opts)
	if err != nil || ds.HasErrors() {
		return nil, ds, err
	}
	b, pds := plan(m)
	ds = append(ds, pds...)
	ds.Sort()
	if ds.HasErrors() {
		return nil, ds, nil
	}
	epoch, err := sourceDateEpoch(opts.SourceDateEpoch)
	if err != nil {
		return nil, ds, err
	}
	if epoch != nil {
		b.API.BuiltAt = time.Unix(*epoch, 0).UTC().Format(time.RFC3339)
	}
	return b, ds, nil
}

func sourceDateEpoch(set *int64) (*int64, error) {
	if set != nil {
		return set, nil
	}
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
	}
	return &n, nil
}

// plan builds the bundle from the model: the routing table, the operations,
// and only the named parts they use.
func plan(m *Model) (*bundle.Bundle, diag.Diagnostics) {
	var ds diag.Diagnostics
	b := &bundle.Bundle{API: m.API, Webhooks: m.Webhooks}
	usedUpstreams := map[string]bool{}
	usedLimits := map[string]bool{}
	usedAuthorizers := map[string]bool{}
	usedSchemes := map[string]bool{}
	var inline []bundle.RateLimit
	for i, op := range m.Operations {
		b.Operations = append(b.Operations, op.Operation)
		b.Routes = append(b.Routes, bundle.Route{Method: op.Method, Path: op.BasePath + op.Path, Operation: i})
		pol := op.Policy
		if pol.Upstream != "" {
			usedUpstreams[pol.Upstream] = true
		}
		for _, c := range pol.Aggregate {
			usedUpstreams[c.Upstream] = true
		}
		if rl := pol.RateLimit; rl != nil && !usedLimits[rl.Name] {
			usedLimits[rl.Name] = true
			if !slices.ContainsFunc(m.Gateway.RateLimits, func(x bundle.RateLimit) bool { return x.Name == rl.Name }) {
				// An inline limit: the operation's own counter.
				inline = append(inline, *rl)
			}
		}
		if pol.Authorizer != "" {
			usedAuthorizers[pol.Authorizer] = true
		}
		for _, req := range op.Security {
			for _, s := range req.Schemes {
				usedSchemes[s.Scheme] = true
			}
		}
	}
	gw := m.Gateway
	for _, u := range gw.Upstreams {
		if usedUpstreams[u.Name] {
			b.Upstreams = append(b.Upstreams, u)
		}
	}
	for _, rl := range gw.RateLimits {
		if usedLimits[rl.Name] {
			b.RateLimits = append(b.RateLimits, rl)
		}
	}
	b.RateLimits = append(b.RateLimits, inline...)
	slices.SortFunc(b.RateLimits, func(x, y bundle.RateLimit) int { return cmp.Compare(x.Name, y.Name) })
	for _, a := range gw.Authorizers {
		if usedAuthorizers[a.Name] {
			b.Authorizers = append(b.Authorizers, a)
		}
	}
	for _, name := range sortedKeys(m.Schemes) {
		if usedSchemes[name] {
			b.SecuritySchemes = append(b.SecuritySchemes, *m.Schemes[name])
		}
	}
	b.Store = gw.Store
	b.TrustedProxies = gw.TrustedProxies
	b.Defs = m.lowerer.Defs()
	slices.SortStableFunc(b.Routes, func(x, y bundle.Route) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Method, y.Method))
	})
	return b, ds
}
