package policy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

func load(t *testing.T, files ...string) (*Set, error) {
	t.Helper()
	var srcs []Source
	for i := 0; i < len(files); i += 2 {
		srcs = append(srcs, Source{Name: files[i], Data: []byte(files[i+1])})
	}
	return Load(context.Background(), srcs)
}

func mustLoad(t *testing.T, files ...string) *Set {
	t.Helper()
	s, err := load(t, files...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func input(t *testing.T) ast.Value {
	t.Helper()
	v, err := Input(map[string]any{"operations": []any{map[string]any{"operationId": "a"}, map[string]any{"operationId": "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRefusedBuiltins: a policy that calls a built-in reaching the network,
// files, environment, a random source or the clock does not compile, and the
// error names the file, line, column and built-in.
func TestRefusedBuiltins(t *testing.T) {
	calls := map[string]string{
		"http.send":            `http.send({"method": "get", "url": "http://127.0.0.1:1/"})`,
		"net.lookup_ip_addr":   `net.lookup_ip_addr("example.com")`,
		"opa.runtime":          `opa.runtime()`,
		"time.now_ns":          `time.now_ns()`,
		"rand.intn":            `rand.intn("x", 10)`,
		"uuid.rfc4122":         `uuid.rfc4122("x")`,
		"json.verify_schema":   `json.verify_schema({"$ref": "file:///etc/passwd"})`,
		"io.jwt.decode_verify": `io.jwt.decode_verify("a.b.c", {"secret": "s"})`,
		"crypto.x509.parse_and_verify_certificates": `crypto.x509.parse_and_verify_certificates("x")`,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			src := "package gwc.team.x\n\ndeny contains msg if {\n  r := " + call + "\n  msg := sprintf(\"%v\", [r])\n}\n"
			_, err := load(t, "team/x.rego", src)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("loaded: %v", err)
			}
			want := "team/x.rego:4:8: policy uses " + name + ", which gwc lint does not allow: policies run on untrusted pull requests"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %q\nwant %q...", err, want)
			}
			// gwc policy test compiles the same way.
			_, err = Test(context.Background(), []Source{{Name: "team/x.rego", Data: []byte(src)}}, 0)
			if err == nil || !strings.Contains(err.Error(), "policy uses "+name) {
				t.Errorf("policy test: %v", err)
			}
		})
	}
	for _, n := range []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "time.now_ns", "rand.intn", "uuid.rfc4122", "json.match_schema"} {
		if !strings.Contains(" "+strings.Join(Refused(), " ")+" ", " "+n+" ") {
			t.Errorf("Refused() lacks %s", n)
		}
	}
	if Capabilities().AllowNet == nil {
		t.Error("allow_net is nil, which allows every host")
	}
}

// TestHTTPSendNeverSent: a loopback listener hears nothing from a policy
// that tries.
func TestHTTPSendNeverSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			got <- struct{}{}
			c.Close()
		}
	}()
	src := fmt.Sprintf("package gwc.x\n\ndeny contains \"leak\" if http.send({\"method\": \"post\", \"url\": \"http://%s/\", \"body\": input})\n", ln.Addr())
	if _, err := load(t, "x.rego", src); err == nil {
		t.Fatal("a policy calling http.send loaded")
	}
	select {
	case <-got:
		t.Fatal("the listener received a connection")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestPureBuiltinsAllowed: what only computes still compiles.
func TestPureBuiltinsAllowed(t *testing.T) {
	mustLoad(t, "x.rego", `package gwc.x

deny contains msg if {
	net.cidr_contains("10.0.0.0/8", "10.1.2.3")
	h := crypto.sha256("x")
	t := time.parse_rfc3339_ns("2024-01-01T00:00:00Z")
	msg := sprintf("%s %d %s", [h, t, uuid.parse("c3d5c7d4-57a4-11ee-8c99-0242ac120002").version])
}
`)
}

// TestRuntimeErrors: a policy that fails at run time is a Failure at the
// place that failed, and the other policies' results are still there.
func TestRuntimeErrors(t *testing.T) {
	s := mustLoad(t,
		"a.rego", "package gwc.a\n\ndeny contains \"a fine\" if true\n",
		"conflict.rego", "package gwc.conflict\n\nf(x) := 1\nf(x) := 2 if true\n\ndeny contains \"never\" if f(1) == 1\n",
		"div.rego", "package gwc.div\n\nwarn contains msg if {\n\tsome op in input.operations\n\tn := count(op) / 0\n\tmsg := sprintf(\"%v\", [n])\n}\n\ndeny contains \"div ok\" if true\n",
		"z.rego", "package gwc.z\n\nwarn contains {\"msg\": \"z fine\", \"operation\": \"a\"} if true\n",
	)
	rs, fails := s.Eval(context.Background(), input(t))
	var msgs []string
	for _, r := range rs {
		msgs = append(msgs, r.Msg)
	}
	if got := strings.Join(msgs, "|"); got != "a fine|div ok|z fine" {
		t.Errorf("results %q", got)
	}
	var got []string
	for _, f := range fails {
		got = append(got, fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Msg))
	}
	want := []string{
		`^conflict.rego:4 the policy failed: function data.gwc.conflict.f produced conflicting values for the same inputs: 1 at conflict.rego:3, 2 at conflict.rego:4 \(eval_conflict_error\); its deny findings are missing$`,
		`^div.rego:5 div: divide by zero \(a built-in failed, so the warn rule it is in found nothing there\)$`,
	}
	if len(got) != len(want) {
		t.Fatalf("failures:\n%s", strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(got[i]) {
			t.Errorf("failure %d: %s\nwant %s", i, got[i], w)
		}
	}
}

// TestTimeBudget: a slow policy is stopped at the deadline, named with its
// file and line, and a policy that could not start is said not to have run.
func TestTimeBudget(t *testing.T) {
	s := mustLoad(t,
		"a.rego", "package gwc.a\n\ndeny contains \"a fine\" if true\n",
		"b_slow.rego", "package gwc.b_slow\n\ndeny contains \"slow\" if {\n\tn := count([x | some x in numbers.range(1, 1000000000); x % 7 == 3])\n\tn < 0\n}\n",
		"c.rego", "package gwc.c\n\ndeny contains \"c\" if true\n",
	)
	s.Budget.Time = 300 * time.Millisecond
	start := time.Now()
	rs, fails := s.Eval(context.Background(), input(t))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	// The policies run concurrently: c runs beside the slow one when Go
	// has a second P, and is said not to have run when it has not.
	cRan := len(rs) == 2 && rs[1].Msg == "c"
	if len(rs) == 0 || rs[0].Msg != "a fine" || (len(rs) != 1 && !cRan) {
		t.Errorf("results %+v", rs)
	}
	if want := map[bool]int{true: 1, false: 2}[cRan]; len(fails) != want {
		t.Fatalf("failures %+v, want %d", fails, want)
	}
	if f := fails[0]; f.File != "b_slow.rego" || f.Line != 1 || !strings.HasPrefix(f.Msg, "the policy was stopped: the policies' time budget (300ms, gwc lint --policy-timeout) was spent") {
		t.Errorf("%+v", f)
	}
	if !cRan {
		if f := fails[1]; f.Package.ID != "policy/c" || !strings.Contains(f.Msg, "1 policy not run: the policies' time budget") {
			t.Errorf("%+v", f)
		}
	}
}

// TestMemoryBudget: a policy that builds a large value is stopped when the
// heap has grown by the budget.
func TestMemoryBudget(t *testing.T) {
	s := mustLoad(t, "big.rego", `package gwc.big

deny contains "big" if {
	r := numbers.range(1, 1000000000)
	count(r) < 0
}
`)
	s.Budget = Budget{Time: time.Minute, Memory: 32 << 20}
	start := time.Now()
	_, fails := s.Eval(context.Background(), input(t))
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
	if len(fails) != 1 || !strings.Contains(fails[0].Msg, "memory budget (32 MiB of heap, gwc lint --policy-memory) was spent") {
		t.Fatalf("failures %+v", fails)
	}
}

// TestResultBounds: a set is cut at Budget.Results, a message at MaxMsg.
func TestResultBounds(t *testing.T) {
	s := mustLoad(t, "many.rego", `package gwc.many

deny contains sprintf("%d", [x]) if some x in numbers.range(1, 50)

warn contains concat("", [s | some _ in numbers.range(1, 1000); s := "abcdé"])
`)
	s.Budget.Results = 10
	rs, fails := s.Eval(context.Background(), input(t))
	if len(rs) != 11 {
		t.Errorf("%d results", len(rs))
	}
	if len(fails) != 1 || !strings.Contains(fails[0].Msg, "found 50 results in its deny set; gwc reports the first 10") {
		t.Errorf("failures %+v", fails)
	}
	w := rs[len(rs)-1].Msg
	if len(w) > MaxMsg+40 || !strings.HasSuffix(w, " bytes cut)") {
		t.Errorf("warn message of %d bytes: %q", len(w), w[len(w)-40:])
	}
}

// TestBuiltinErrorsFromInput: a built-in that fails on what the spec holds
// (a pattern that is not a regular expression, a number where a string
// goes) is reported, not an undefined that hides the finding.
func TestBuiltinErrorsFromInput(t *testing.T) {
	s := mustLoad(t, "re.rego", `package gwc.re

deny contains op.operationId if {
	some op in input.operations
	regex.match(op.pattern, "x")
}

warn contains op.operationId if {
	some op in input.operations
	lower(op.n) == "x"
}
`)
	in, err := Input(map[string]any{"operations": []any{map[string]any{"operationId": "a", "pattern": "[", "n": 1}}})
	if err != nil {
		t.Fatal(err)
	}
	rs, fails := s.Eval(context.Background(), in)
	if len(rs) != 0 || len(fails) != 2 {
		t.Fatalf("results %+v failures %+v", rs, fails)
	}
	for i, want := range []string{"re.rego:5:2 regex.match: error parsing regexp: missing closing ]", "re.rego:10:2 lower: operand 1 must be string but got number"} {
		if got := fmt.Sprintf("%s:%d:%d %s", fails[i].File, fails[i].Line, fails[i].Col, fails[i].Msg); !strings.HasPrefix(got, want) {
			t.Errorf("got %s\nwant %s...", got, want)
		}
	}
}
