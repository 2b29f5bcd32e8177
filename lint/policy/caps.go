package policy

import (
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// gwc lint runs policies that a pull request may bring (the .gwc.yaml beside
// the spec names their directories), so the built-in functions they may call
// are those that only compute: none reaches the network, the file system, the
// environment, a random source or the clock. OPA marks such built-ins
// nondeterministic (http.send, net.lookup_ip_addr, opa.runtime, time.now_ns,
// rand.intn, uuid.rfc4122, io.jwt.decode_verify and encode_sign*, and
// json.match_schema and json.verify_schema, whose $ref loads files and URLs);
// the certificate checks that verify against the clock are refused too. A
// module that calls one does not compile: OPA's type checker finds the call
// undefined, since the capabilities leave it out.
var clockBuiltins = []string{
	"crypto.x509.parse_and_verify_certificates",
	"crypto.x509.parse_and_verify_certificates_with_options",
}

// Capabilities is the capability set policies compile and run with: this
// OPA's built-ins less the refused ones, and no host to reach (allow_net
// empty, not absent, which would allow every host).
func Capabilities() *ast.Capabilities {
	capsOnce.Do(func() {
		c := ast.CapabilitiesForThisVersion()
		var keep []*ast.Builtin
		for _, b := range c.Builtins {
			if refusedBuiltin(b) {
				refused[b.Name] = true
				continue
			}
			keep = append(keep, b)
		}
		c.Builtins = keep
		c.AllowNet = []string{}
		caps = c
	})
	return caps
}

var (
	capsOnce sync.Once
	caps     *ast.Capabilities
	refused  = map[string]bool{}
)

func refusedBuiltin(b *ast.Builtin) bool {
	return b.Nondeterministic || slices.Contains(clockBuiltins, b.Name)
}

// Refused lists the built-ins policies may not call, sorted.
func Refused() []string {
	Capabilities()
	var out []string
	for n := range refused {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// explainRefused rewrites OPA's "undefined function http.send" for a refused
// built-in into why it is not there.
func explainRefused(errs ast.Errors) {
	Capabilities()
	for _, e := range errs {
		name, ok := strings.CutPrefix(e.Message, "undefined function ")
		if !ok || !refused[name] {
			continue
		}
		e.Message = "policy uses " + name + ", which gwc lint does not allow: policies run on untrusted pull requests " +
			"without network, files, environment, randomness or clock"
	}
}
