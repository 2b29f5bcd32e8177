package policy

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Budget bounds one Eval: the policies of a set over one spec. OPA has no
// memory limit of its own; gwc watches the Go heap while policies run and
// stops them, through the same cancellation as the deadline, when it grows
// by more than Memory (OPA's evaluator, numbers.range and the string
// built-ins such as concat and replace check for cancellation as they go).
// Results caps each deny or warn set, and messages are cut at MaxMsg bytes.
type Budget struct {
	// Time is the deadline for all the policies together (default 5s).
	Time time.Duration
	// Memory is how much the heap may grow while they run (default 1 GiB).
	Memory uint64
	// Results is the most findings one deny or warn set reports (default
	// 10000).
	Results int
}

// The budget's defaults, and the longest message a finding carries.
const (
	DefaultTime    = 5 * time.Second
	DefaultMemory  = 1 << 30
	DefaultResults = 10000
	MaxMsg         = 2048
)

func (b Budget) withDefaults() Budget {
	if b.Time <= 0 {
		b.Time = DefaultTime
	}
	if b.Memory == 0 {
		b.Memory = DefaultMemory
	}
	if b.Results <= 0 {
		b.Results = DefaultResults
	}
	return b
}

// Result is one element of a deny or warn set.
type Result struct {
	Package *Package
	Deny    bool
	Msg     string
	// Operation is an operationId, Pointer a JSON pointer into the entry
	// file; both empty for the spec as a whole.
	Operation string
	Pointer   string
}

// Failure is a policy that did not run to the end, or a built-in that failed
// in it: an error in the policy, at the place in its Rego file that failed
// (else its package clause), never silently no finding.
type Failure struct {
	Package   *Package
	File      string
	Line, Col int
	Msg       string
}

var (
	errTime   = errors.New("time budget spent")
	errMemory = errors.New("memory budget spent")
)

// Eval evaluates every policy over input, concurrently, and returns the
// results in package order; within a package deny comes before warn, and
// each set in its order (sorted by OPA). A policy that fails is a Failure,
// and the others still run; when the budget is spent, the policies running
// are stopped and those not started are not run (one Failure says which).
func (s *Set) Eval(ctx context.Context, input ast.Value) ([]Result, []Failure) {
	b := s.Budget.withDefaults()
	ctx, cancel := context.WithTimeoutCause(ctx, b.Time, errTime)
	defer cancel()
	ctx, stop := watchMemory(ctx, b.Memory)
	defer stop()

	// The packages run on as many goroutines as Go has Ps (a prepared
	// query may be evaluated concurrently, and the input is only read);
	// their findings are gathered in package order, whatever the schedule.
	type outcome struct {
		rs  []Result
		fs  []Failure
		ran bool
	}
	outs := make([]outcome, len(s.Packages))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(s.Packages)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(s.Packages) {
					return
				}
				p, o := s.Packages[i], &outs[i]
				o.ran = true
				for set, q := range s.queries[p] {
					if q == nil {
						continue
					}
					rs, fs := evalSet(ctx, b, p, set == 0, q, input)
					o.rs = append(o.rs, rs...)
					o.fs = append(o.fs, fs...)
				}
			}
		})
	}
	wg.Wait()
	var out []Result
	var fails []Failure
	var notRun []string
	var first *Package
	for i, p := range s.Packages {
		if !outs[i].ran {
			if first == nil {
				first = p
			}
			notRun = append(notRun, p.ID)
			continue
		}
		out = append(out, outs[i].rs...)
		fails = append(fails, outs[i].fs...)
	}
	if first != nil {
		fails = append(fails, Failure{Package: first, File: first.File, Line: first.Line, Col: 1,
			Msg: fmt.Sprintf("%s not run: %s", plural(len(notRun), "policy", "policies"), stopped(ctx, b, notRun))})
	}
	return out, fails
}

// evalSet evaluates p's deny (or warn) set.
func evalSet(ctx context.Context, b Budget, p *Package, deny bool, q *rego.PreparedEvalQuery, input ast.Value) ([]Result, []Failure) {
	set := "warn"
	if deny {
		set = "deny"
	}
	var builtinErrs []topdown.Error
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input), rego.EvalBuiltinErrorList(&builtinErrs))
	var fails []Failure
	// A built-in that fails leaves its expression undefined, which can hide
	// a finding: each is reported, once per place.
	seen := map[string]bool{}
	for _, e := range builtinErrs {
		if e.Code == topdown.CancelErr {
			continue // the budget, said below
		}
		f := failureAt(p, e.Location)
		f.Msg = fmt.Sprintf("%s (a built-in failed, so the %s rule it is in found nothing there)", e.Message, set)
		key := fmt.Sprintf("%s:%d:%d %s", f.File, f.Line, f.Col, e.Message)
		f.Msg = oneLine(f.Msg)
		if seen[key] || len(seen) >= 10 {
			continue
		}
		seen[key] = true
		fails = append(fails, f)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, append(fails, Failure{Package: p, File: p.File, Line: p.Line, Col: 1,
				Msg: fmt.Sprintf("the policy was stopped: %s%s", stopped(ctx, b, nil), where(err))})
		}
		var te *topdown.Error
		f := Failure{Package: p, File: p.File, Line: p.Line, Col: 1}
		msg := err.Error()
		if errors.As(err, &te) {
			f = failureAt(p, te.Location)
			msg = oneLine(te.Message) + " (" + te.Code + ")"
		}
		f.Msg = fmt.Sprintf("the policy failed: %s; its %s findings are missing", msg, set)
		return nil, append(fails, f)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fails
	}
	vals, _ := rs[0].Expressions[0].Value.([]any)
	var out []Result
	for _, v := range vals {
		if len(out) == b.Results {
			fails = append(fails, Failure{Package: p, File: p.File, Line: p.Line, Col: 1,
				Msg: fmt.Sprintf("the policy found %d results in its %s set; gwc reports the first %d", len(vals), set, b.Results)})
			break
		}
		r, err := result(p, deny, v)
		if err != nil {
			fails = append(fails, Failure{Package: p, File: p.File, Line: p.Line, Col: 1, Msg: err.Error()})
			continue
		}
		out = append(out, r)
	}
	return out, fails
}

// stopped says which budget ran out, and which policies it cut short.
func stopped(ctx context.Context, b Budget, names []string) string {
	var why string
	switch cause := context.Cause(ctx); cause {
	case errTime:
		why = fmt.Sprintf("the policies' time budget (%s, gwc lint --policy-timeout) was spent", b.Time)
	case errMemory:
		why = fmt.Sprintf("the policies' memory budget (%d MiB of heap, gwc lint --policy-memory) was spent", b.Memory>>20)
	default:
		why = "the run was cancelled"
	}
	if len(names) > 0 {
		why += " (" + strings.Join(names, ", ") + ")"
	}
	return why
}

// where is " at FILE:LINE" for an evaluation error that has a place.
func where(err error) string {
	var te *topdown.Error
	if errors.As(err, &te) && te.Location != nil && te.Location.File != "" {
		return fmt.Sprintf(" at %s:%d", te.Location.File, te.Location.Row)
	}
	return ""
}

// failureAt is a failure at loc, or at p's package clause when loc has no
// file.
func failureAt(p *Package, loc *ast.Location) Failure {
	if loc == nil || loc.File == "" {
		return Failure{Package: p, File: p.File, Line: p.Line, Col: 1}
	}
	return Failure{Package: p, File: loc.File, Line: loc.Row, Col: loc.Col}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func result(p *Package, deny bool, v any) (Result, error) {
	r := Result{Package: p, Deny: deny}
	switch x := v.(type) {
	case string:
		r.Msg = cut(x)
		return r, nil
	case map[string]any:
		msg, ok := x["msg"].(string)
		if !ok {
			return r, fmt.Errorf("a result of the policy has no string msg: %s", cut(fmt.Sprint(v)))
		}
		r.Msg = cut(msg)
		r.Operation, _ = x["operation"].(string)
		r.Pointer, _ = x["pointer"].(string)
		return r, nil
	}
	return r, fmt.Errorf("a result of the policy is neither a message nor an object with msg: %s", cut(fmt.Sprint(v)))
}

// oneLine joins a message OPA spreads over lines ("…inputs:\n  1 at
// a.rego:3\n  2 at a.rego:4") into one, as findings are.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var b strings.Builder
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if i > 0 {
			if strings.HasSuffix(lines[i-1], ":") {
				b.WriteString(" ")
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// cut shortens a message to MaxMsg bytes, on a rune boundary.
func cut(s string) string {
	if len(s) <= MaxMsg {
		return s
	}
	i := MaxMsg
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s… (%d bytes cut)", s[:i], len(s)-i)
}

// heapMetric is the bytes of heap objects, live and not yet swept: it grows
// as a policy allocates, between collections too.
const heapMetric = "/memory/classes/heap/objects:bytes"

// watchMemory cancels ctx with errMemory when the heap grows by more than
// limit from now. It samples every few milliseconds, so a policy may
// overshoot by what it allocates in that time.
func watchMemory(ctx context.Context, limit uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sample := []metrics.Sample{{Name: heapMetric}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	base := read()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if h := read(); h > base && h-base > limit {
					cancel(errMemory)
					return
				}
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}
