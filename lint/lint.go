package lint

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/lint/policy"
)

// IgnoreKey is the inline marker: `x-gwc-ignore: [rule-id, ...]` on any
// object silences those rules on that object and everything below it.
const IgnoreKey = "x-gwc-ignore"

// Options configure Run.
type Options struct {
	// Config applies severities and ignores; nil means FindConfig from the
	// spec's directory, and the defaults when there is none.
	Config *Config
	// NoConfig ignores any .gwc.yaml (for tests and --no-config).
	NoConfig bool
	// Rules are the rules to run; nil means All().
	Rules []*Rule
	// ReadFile reads spec files; nil reads the file system.
	ReadFile func(path string) ([]byte, error)
	// Root is the folder whose tree the spec's files must be in; "" means
	// the spec's folder.
	Root string
	// Policies are run over every spec that loads, errors or not (what
	// could not be built is left out of their input, and a note says so);
	// nil runs none.
	Policies *policy.Set
	// PolicySet, when set, gives the policies instead of Policies: Run calls
	// it once, beside loading the spec (compiling a policy pack takes as
	// long as loading a small spec), and returns its error.
	PolicySet func() (*policy.Set, error)
}

// Run lints one spec: the compiler's checks, then every rule, with the
// configuration applied. The error is for what gwc could not read (the entry
// file, the configuration); problems in the spec are diagnostics.
func Run(ctx context.Context, specPath string, opts Options) (diag.Diagnostics, error) {
	cfg := opts.Config
	if cfg == nil && !opts.NoConfig {
		var err error
		if cfg, err = FindConfig(filepath.Dir(specPath)); err != nil {
			return nil, err
		}
	}
	rules := opts.Rules
	if rules == nil {
		rules = All()
	}
	policies := func() (*policy.Set, error) { return opts.Policies, nil }
	if opts.PolicySet != nil {
		type loaded struct {
			set *policy.Set
			err error
		}
		ch := make(chan loaded, 1)
		go func() {
			s, err := opts.PolicySet()
			ch <- loaded{s, err}
		}()
		policies = sync.OnceValues(func() (*policy.Set, error) {
			l := <-ch
			return l.set, l.err
		})
	}
	doc, ds, index, err := analyze(ctx, specPath, rules, opts, policies)
	if err != nil {
		return nil, err
	}
	// The configuration's rule ids are checked against the policies too,
	// once they are compiled: a mistake there is Run's error, whatever the
	// spec had.
	set, err := policies()
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckRules(append(All(), PolicyRules(set)...)); err != nil {
		return nil, err
	}
	ds = filter(ds, doc, cfg)
	setPointers(ds, doc, index) // for Fingerprint (baseline.go)
	return ds, nil
}

// CodeInternal marks a finding that is gwc failing, not the spec: a panic
// while checking, reported at the spec rather than crashing the run.
const CodeInternal = "gwc-internal"

// analyze also returns the pointer index of the spec's files when it built
// it, beside the policies, which take longer than the rules.
func analyze(ctx context.Context, specPath string, rules []*Rule, opts Options, policies func() (*policy.Set, error)) (doc *spec.Document, ds diag.Diagnostics, index map[string]*pointerIndex, err error) {
	defer func() {
		if r := recover(); r != nil {
			ds.Errorf(diag.Pos{File: specPath}, CodeInternal, "gwc failed while checking this spec (%v); please report it with the spec", r)
		}
	}()
	a, ds, err := compiler.Analyze(ctx, compiler.Options{Spec: specPath, Lint: true, ReadFile: opts.ReadFile, Root: opts.Root})
	// A spec refused for passing a limit of the loader (a.Doc.Refused) has
	// no Root: the findings say why, and nothing else reads it.
	if err != nil || a.Doc == nil || a.Doc.Root == nil || a.Model == nil {
		if a != nil {
			doc = a.Doc
		}
		if set, perr := policies(); err == nil && perr == nil && hasPolicies(set) {
			ds = append(ds, skippedNote(specPath))
		}
		return doc, ds, nil, err
	}
	// One pass: the policies judge what the spec's Model could be built
	// of, errors or not, so that one run reports every problem. They run
	// beside the rules: both only read the loaded spec and its Model.
	var pds diag.Diagnostics
	var perr error
	var wg sync.WaitGroup
	set, err := policies()
	if err != nil {
		return a.Doc, ds, nil, err
	}
	if set != nil {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					pds = nil
					pds.Errorf(diag.Pos{File: specPath}, CodeInternal, "gwc failed while running the policies on this spec (%v); please report it with the spec", r)
				}
			}()
			pds, perr = evalPolicies(ctx, set, a)
		})
	}
	var rds diag.Diagnostics
	if ctx.Err() == nil {
		rds = runRules(a.Doc, rules)
		if set != nil {
			index = pointerIndexes(a.Doc) // while the policies run
		}
	}
	wg.Wait()
	if perr != nil {
		return a.Doc, ds, nil, perr
	}
	if err := ctx.Err(); err != nil {
		return a.Doc, ds, nil, err
	}
	ds = append(append(ds, pds...), rds...)
	addRanges(ds, a.Doc)
	return a.Doc, ds, index, nil
}

// runRules runs the lint rules over doc, concurrently: each reads the loaded
// document only, and writes its own findings, merged in rule order so that
// the output does not depend on scheduling.
func runRules(doc *spec.Document, rules []*Rule) diag.Diagnostics {
	found := make([]diag.Diagnostics, len(rules))
	var wg sync.WaitGroup
	for i, r := range rules {
		if r.Run == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					found[i].Errorf(diag.Pos{File: doc.Files[0].Path}, CodeInternal, "rule %s failed on this spec (%v); please report it with the spec", r.ID, v)
				}
			}()
			r.Run(&Pass{Doc: doc, rule: r, ds: &found[i]})
		}()
	}
	wg.Wait()
	var out diag.Diagnostics
	for _, f := range found {
		out = append(out, f...)
	}
	return out
}

// span is the lines of one node and everything below it in a file.
type span struct {
	file       string
	start, end int32
	rules      []string // nil: every rule
}

func (s span) contains(d diag.Diagnostic) bool {
	return d.Pos.File == s.file && int32(d.Pos.Line) >= s.start && int32(d.Pos.Line) <= s.end &&
		(s.rules == nil || slices.Contains(s.rules, d.Code))
}

// filter applies the configuration and the x-gwc-ignore markers, then sorts.
func filter(ds diag.Diagnostics, doc *spec.Document, cfg *Config) diag.Diagnostics {
	var spans []span
	if doc != nil {
		spans = ignoreSpans(doc, cfg)
	}
	out := ds[:0]
	for _, d := range ds {
		sev, on := cfg.severity(d.Code, d.Severity)
		if !on || cfg.fileIgnored(d.Code, d.Pos.File) {
			continue
		}
		if slices.ContainsFunc(spans, func(s span) bool { return s.contains(d) }) {
			continue
		}
		d.Severity = sev
		out = append(out, d)
	}
	out.Sort()
	return out
}

// ignoreSpans finds the x-gwc-ignore markers of every loaded file, and the
// nodes the configuration's ignore pointers name in the entry file.
func ignoreSpans(doc *spec.Document, cfg *Config) []span {
	var out []span
	// YAML aliases share nodes (Shared): each is visited once, where its
	// lines are.
	seen := spec.Visited{}
	for _, f := range doc.Files {
		// key is the member key n is the value of: a finding about the member
		// as a whole is reported there, on the line before a block value.
		var walk func(n, key *spec.Node)
		walk = func(n, key *spec.Node) {
			if n == nil || !seen.First(n) {
				return
			}
			if n.Kind == spec.Object {
				if ig := n.Get(IgnoreKey); ig != nil {
					var ids []string
					for _, e := range ig.Elems {
						if s, ok := e.Str(); ok {
							ids = append(ids, s)
						}
					}
					if s, ok := ig.Str(); ok { // a single id
						ids = append(ids, s)
					}
					if len(ids) > 0 {
						out = append(out, nodeSpan(n, key, ids))
					}
				}
			}
			for _, e := range n.Elems {
				walk(e, nil)
			}
			for _, p := range n.Pairs {
				walk(p.Value, p.Key)
			}
		}
		walk(f.Root, nil)
	}
	if cfg != nil && doc.Root != nil {
		for _, ig := range cfg.Ignore {
			if ig.Pointer == "" {
				continue
			}
			n := doc.Root.At(ig.Pointer)
			if n == nil {
				continue
			}
			var rules []string
			if ig.Rule != "" {
				rules = []string{ig.Rule}
			}
			out = append(out, nodeSpan(n, pointerKey(doc.Root, ig.Pointer), rules))
		}
	}
	return out
}

// pointerKey is the member key of the node ptr names, nil for an array
// element or the root.
func pointerKey(root *spec.Node, ptr string) *spec.Node {
	i := strings.LastIndexByte(ptr, '/')
	if i < 0 {
		return nil
	}
	parent := root.At(ptr[:i])
	if parent == nil {
		parent = root
	}
	return parent.Deref().Key(spec.UnescapePointerToken(ptr[i+1:]))
}

// nodeSpan is the lines n covers: from its own, or its key's, to the last of
// anything below it in the same file.
func nodeSpan(n, key *spec.Node, rules []string) span {
	s := span{start: n.Line, end: n.Line, rules: rules}
	if key != nil && key.File == n.File && key.Line < s.start {
		s.start = key.Line
	}
	if n.File != nil {
		s.file = n.File.Path
	}
	seen := spec.Visited{}
	var walk func(m *spec.Node)
	walk = func(m *spec.Node) {
		if m == nil || m.File != n.File || !seen.First(m) {
			return
		}
		s.end = max(s.end, m.Line)
		for _, e := range m.Elems {
			walk(e)
		}
		for _, p := range m.Pairs {
			s.end = max(s.end, p.Key.Line)
			walk(p.Value)
		}
	}
	walk(n)
	return s
}
