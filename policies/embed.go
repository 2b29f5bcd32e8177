// Package policies embeds gwc's Rego policy pack: checks of a spec's gateway
// configuration mapped to the OWASP API Security Top 10 (2023), run by
// `gwc lint` unless --no-builtin-policies, each with its Rego tests, which
// `gwc policy test` runs (CI runs it on this directory).
//
// Layout: lib/ holds helpers (package gwc.lib); owasp/NAME/ holds one policy,
// package gwc.owasp.NAME, in NAME.rego with NAME_test.rego beside it. The
// input every policy reads is documented in docs/policy-input.md.
package policies

import "embed"

// FS holds every .rego file of the pack, tests included.
//
//go:embed lib owasp
var FS embed.FS
