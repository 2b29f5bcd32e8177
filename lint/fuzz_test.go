package lint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/lint/policy"
)

// Per input, FuzzLint allows lint this long and this much memory allocated:
// far more than any seed takes (the slowest, a spec at the loader's alias
// limit, takes a fraction of a second), far less than the minutes and
// gigabytes a "billion laughs" took before the loader's limits were fatal.
const (
	fuzzTime  = 20 * time.Second
	fuzzAlloc = 2 << 30
)

// hostileSeeds are inputs from gwc lint's threat model: a pull request
// chooses the spec, the files it $refs and the .gwc.yaml beside it.
var hostileSeeds = []struct{ spec, ref, config string }{
	// Nested aliases in the spec, and in the referenced file.
	{spec: laughs("x-laughs"), config: ""},
	{spec: refTo("ref.yaml"), ref: laughs("laughs")},
	// Aliases just under the limit, in a schema the compiler lowers.
	{spec: "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n" +
		"    a: &a {type: object, properties: {p: {type: string}, q: {type: integer}}}\n" +
		"    b: &b {allOf: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n" +
		"    c: &c {allOf: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n" +
		"    d: &d {allOf: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n" +
		"    e: {allOf: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}\n"},
	// References out of the folder, to devices, to FIFOs, remote.
	{spec: refTo("../outside.yaml")},
	{spec: refTo("/etc/passwd")},
	{spec: refTo("/dev/zero")},
	{spec: refTo("/proc/self/environ")},
	{spec: refTo("https://example.com/x.yaml")},
	{spec: refTo("ref.yaml#/a/b/c"), ref: "a: {b: {$ref: '#/a'}}\n"},
	{spec: refTo("ref.yaml"), ref: "description: {$ref: 'spec.yaml#/paths'}\n"},
	// A secret where a reference belongs.
	{spec: "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  securitySchemes:\n" +
		"    k: {type: apiKey, in: header, name: K, x-gateway: {keys: 'env:sk-live-51Hxyz'}}\n" +
		"    j: {type: http, scheme: bearer, x-gateway: {jwks_url: 'https://u:pw@id.example.com/jwks?token=abc'}}\n"},
	// Configurations: rules off, ignores, policy directories, and nonsense.
	{spec: refTo("ref.yaml"), ref: "description: ok\n", config: "rules:\n  gwc-operation-id: off\nignore:\n  - {rule: gwc-ref, pointer: /paths}\n"},
	{spec: refTo("ref.yaml"), config: "policies: [../../../etc, /dev/zero]\n"},
	{spec: refTo("ref.yaml"), config: "a: &a [*a]\n"},
	{spec: refTo("ref.yaml"), config: "rules: " + strings.Repeat("[", 5000) + "\n"},
	{spec: strings.Repeat("[", 20000), ref: strings.Repeat("{a: ", 5000)},
}

func refTo(ref string) string {
	return "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '" + ref + "'}\n"
}

func laughs(key string) string {
	var b strings.Builder
	b.WriteString("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n" + key + ":\n")
	b.WriteString("  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("  l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

var (
	fuzzPoliciesOnce sync.Once
	fuzzPolicies     *policy.Set
	fuzzPoliciesErr  error
)

// FuzzLint lints a spec, a file it may $ref and a .gwc.yaml beside them,
// written to a folder of their own, with the embedded policies, as gwc lint
// does on a pull request. gwc lint must never fail on its own (a panic
// becomes a gwc-internal finding, which this target treats as a crash), nor
// pass the time and memory bounds, whatever the input. The seeds, run by
// every go test as a regression test, are the rules' cases and hostileSeeds.
func FuzzLint(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data, []byte(nil), []byte(nil))
		}
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s.spec), []byte(s.ref), []byte(s.config))
	}
	f.Fuzz(func(t *testing.T, specData, refData, configData []byte) {
		fuzzPoliciesOnce.Do(func() {
			fuzzPolicies, fuzzPoliciesErr = LoadPolicies(context.Background(), false, nil)
		})
		if fuzzPoliciesErr != nil {
			t.Fatal(fuzzPoliciesErr)
		}
		// The tree: outside.yaml beside the spec's folder, which must never
		// be read; ref.yaml and .gwc.yaml in it, when given.
		dir := t.TempDir()
		api := filepath.Join(dir, "api")
		write := func(path string, data []byte) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(api, 0o755); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(dir, "outside.yaml"), []byte("description: outside-content\n"))
		write(filepath.Join(api, "spec.yaml"), specData)
		if refData != nil {
			write(filepath.Join(api, "ref.yaml"), refData)
		}
		if configData != nil {
			write(filepath.Join(api, ConfigName), configData)
		}

		ctx, cancel := context.WithTimeout(context.Background(), fuzzTime)
		defer cancel()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		var ds diag.Diagnostics
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			ds, err = Run(ctx, filepath.Join(api, "spec.yaml"), Options{Policies: fuzzPolicies})
		}()
		select {
		case <-done:
		case <-time.After(fuzzTime + 10*time.Second):
			t.Fatalf("lint did not stop %v after its context was done", 10*time.Second)
		}
		took := time.Since(start)
		runtime.ReadMemStats(&after)

		if took > fuzzTime || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("lint took %v, over the bound of %v", took, fuzzTime)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > fuzzAlloc {
			t.Fatalf("lint allocated %d MiB, over the bound of %d MiB", alloc>>20, fuzzAlloc>>20)
		}
		if err != nil {
			return // an unreadable spec or configuration is reported by the caller
		}
		for _, d := range ds {
			if d.Code == CodeInternal {
				t.Fatalf("gwc failed on this input: %s", d)
			}
			if strings.Contains(d.String(), "outside-content") {
				t.Fatalf("a file outside the spec's folder was read: %s", d)
			}
			if d.Code == spec.CodeLimit || strings.Contains(d.Message, "YAML aliases expand") {
				// A refused spec gets no other finding from it: nothing
				// else ran (the note that says the policies did not run
				// aside).
				for _, o := range ds {
					if o.Code == CodePolicies && strings.Contains(o.Message, "were not run") {
						continue
					}
					if o.Code != spec.CodeLimit && o.Code != spec.CodeSyntax && o.Code != spec.CodeRef && o.Code != spec.CodeIO && o.Code != "gwc-openapi-version" {
						t.Fatalf("the spec was refused (%s), yet %s ran: %s", d, o.Code, o)
					}
				}
			}
		}
	})
}
