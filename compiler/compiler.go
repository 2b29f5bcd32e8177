// Package compiler turns an OpenAPI document with the x-gateway extension
// into a bundle. It is a list of stages, run in order by one runner:
//
//	load     read the entry file and the files it $refs (compiler/spec)
//	check    validate the x-gateway extension against its schema
//	resolve  build the Model: every operation's effective policy
//	plan     build the bundle: routes, operations and the named parts they use
//	encode   write the bundle in the .gwb format (runtime/bundle)
//
// The entry points differ only in where they stop: Check runs up to resolve
// and stops at the first stage with errors; Analyze (`gwc lint`) runs up to
// resolve and goes on past errors as far as the document allows; Compile
// (`gwc serve SPEC`) runs up to plan and Build (`gwc build`) up to encode,
// both stopping at the first stage with errors.
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
	// Root is the folder whose tree the spec's files must be in; "" means
	// the entry file's folder (spec.Loader.Root).
	Root string
	// Lint adds the findings only `gwc lint` reports: what gwc accepts but
	// other OpenAPI tools do not, such as Redocly-style references.
	Lint bool
	// SourceDateEpoch, when set, is recorded as the build time (the
	// reproducible-builds convention); nil reads $SOURCE_DATE_EPOCH.
	SourceDateEpoch *int64
	// Encode configures the encode stage, which only Build runs: the gwc
	// version written in the header, and the key to sign with, if any.
	Encode bundle.EncodeOptions
}

// state is what the stages hand on: each reads what the stages before it
// made and adds its own part, and its diagnostics to ds.
type state struct {
	ctx     context.Context
	opts    Options
	ds      diag.Diagnostics
	doc     *spec.Document // load
	model   *Model         // resolve
	bundle  *bundle.Bundle // plan; nil when the spec has errors
	encoded *Encoded       // encode
}

// A stage is one step of the pipeline. Problems in the spec are
// diagnostics; an error is for what is not the spec's fault (a file that
// cannot be read, a bad $SOURCE_DATE_EPOCH) and ends the run with no
// result.
type stage struct {
	name string
	run  func(s *state) error
}

// stages is the pipeline, in order.
var stages = []stage{
	{"load", loadStage},
	{"check", checkStage},
	{"resolve", resolveStage},
	{"plan", planStage},
	{"encode", encodeStage},
}

// run runs the stages in order up to and including the one named last, and
// stops earlier when ctx is done (returning what was made so far with ctx's
// error) or when stop, asked after each stage, says so. The diagnostics are
// sorted. A stage's error is returned with no state.
func run(ctx context.Context, opts Options, last string, stop func(*state) bool) (*state, diag.Diagnostics, error) {
	s := &state{ctx: ctx, opts: opts}
	for _, st := range stages {
		if err := ctx.Err(); err != nil {
			s.ds.Sort()
			return nil, s.ds, err
		}
		if err := st.run(s); err != nil {
			s.ds.Sort()
			return nil, s.ds, err
		}
		if ctx.Err() != nil || st.name == last || stop(s) {
			break
		}
	}
	s.ds.Sort()
	return s, s.ds, ctx.Err()
}

// atErrors is the stop rule of Check, Compile and Build: no stage runs on a
// spec that already has errors.
func atErrors(s *state) bool { return s.ds.HasErrors() }

// withoutDocument is Analyze's stop rule: go on past errors for as long as
// there is a document to check. Errors in files the entry $refs (a syntax
// error, a missing file) leave those references unresolved, and everything
// else can still be checked; only an entry file that did not parse stops
// the run.
// A spec refused for passing a limit of the loader has no Root either.
func withoutDocument(s *state) bool { return s.doc == nil || s.doc.Root == nil }

// Check loads the spec, validates the extension and resolves every operation's
// effective policy, stopping at the first stage that finds errors. The error
// is for I/O problems with the entry file; problems in the spec are
// diagnostics.
func Check(ctx context.Context, opts Options) (*Model, diag.Diagnostics, error) {
	s, ds, err := run(ctx, opts, "resolve", atErrors)
	if s == nil {
		return nil, ds, err
	}
	return s.model, ds, err
}

// Analyze makes the checks of Check as far as the document allows, for
// lint: it goes on past x-gateway errors (resolving reads only what the
// extension's check accepted), so that one run reports all it can, and it
// always adds the findings of Options.Lint. The document is nil when the
// entry file could not be loaded at all.
func Analyze(ctx context.Context, opts Options) (*Analysis, diag.Diagnostics, error) {
	opts.Lint = true
	s, ds, err := run(ctx, opts, "resolve", withoutDocument)
	if s == nil {
		return nil, ds, err
	}
	return &Analysis{Doc: s.doc, Model: s.model}, ds, err
}

// Analysis is what Analyze could make of a spec: the loaded document (nil
// when the entry file could not be loaded) and the Model resolved from it
// (nil when the entry file did not parse; made even when checks found
// errors, which then say what it lacks).
type Analysis struct {
	Doc   *spec.Document
	Model *Model
}

// Compile runs the stages up to plan and returns the bundle, or nil when
// the spec has errors.
func Compile(ctx context.Context, opts Options) (*bundle.Bundle, diag.Diagnostics, error) {
	s, ds, err := run(ctx, opts, "plan", atErrors)
	if s == nil || err != nil {
		return nil, ds, err
	}
	return s.bundle, ds, nil
}

// Build runs every stage and returns the encoded bundle, or nil when the
// spec has errors. Options.Encode says how to encode it.
func Build(ctx context.Context, opts Options) (*Encoded, diag.Diagnostics, error) {
	s, ds, err := run(ctx, opts, "encode", atErrors)
	if s == nil || err != nil {
		return nil, ds, err
	}
	return s.encoded, ds, nil
}

// loadStage reads and parses the spec and the files it references.
func loadStage(s *state) error {
	loader := &spec.Loader{ReadFile: s.opts.ReadFile, Root: s.opts.Root}
	doc, ds, err := loader.LoadContext(s.ctx, s.opts.Spec)
	if err != nil {
		return err
	}
	s.doc, s.ds = doc, ds
	return nil
}

// checkStage validates the x-gateway extension, and with Options.Lint
// warns about what other OpenAPI tools would refuse.
func checkStage(s *state) error {
	if s.opts.Lint {
		s.ds = append(s.ds, nonStandardRefs(s.doc)...)
	}
	s.ds = append(s.ds, xgateway.Check(s.doc)...)
	return nil
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

// resolveStage builds the Model (resolve.go).
func resolveStage(s *state) error {
	m, ds := resolve(s.ctx, s.doc)
	s.model = m
	s.ds = append(s.ds, ds...)
	return s.ctx.Err()
}

// planStage builds the bundle from the Model and stamps the build time from
// $SOURCE_DATE_EPOCH, when the spec has no errors.
func planStage(s *state) error {
	b, ds := plan(s.model)
	s.ds = append(s.ds, ds...)
	if s.ds.HasErrors() {
		return nil
	}
	epoch, err := sourceDateEpoch(s.opts.SourceDateEpoch)
	if err != nil {
		return err
	}
	if epoch != nil {
		b.API.BuiltAt = time.Unix(*epoch, 0).UTC().Format(time.RFC3339)
	}
	s.bundle = b
	return nil
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
