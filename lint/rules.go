package lint

import (
	"slices"
	"strings"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/lower"
	"github.com/gwcdev/gwc/compiler/spec"
	"github.com/gwcdev/gwc/compiler/xgateway"
)

// Rule categories.
const (
	Structure     = "structure"     // the spec is not what OpenAPI or gwc can read
	Gateway       = "gateway"       // the x-gateway extension and what serving needs
	Documentation = "documentation" // what readers and generated clients need
	Hygiene       = "hygiene"       // what is there for nothing
)

// All returns every rule, sorted by id. It is the registry: there is no
// other list, and docs/rules.md is generated from it.
func All() []*Rule {
	rules := append(compilerRules(), operationID, responseDescription, unusedComponent, exampleSchema, structure, uncheckedScheme, policiesNote)
	slices.SortFunc(rules, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return rules
}

// ByID returns the rule with id, or nil.
func ByID(id string) *Rule {
	for _, r := range All() {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// policiesNote is the id of lint's notes about the policy run (evalPolicies).
var policiesNote = &Rule{ID: CodePolicies, Severity: diag.Info, Category: Policy, Title: "what the policies could not judge",
	Description: "Policies run on every spec that loads, errors or not. An info note names the operations and security schemes gwc could not build (an unresolved `$ref`, an invalid path template), which the policies' input leaves out; another says when the spec could not be loaded and the policies did not run. A warning names a policy whose result points at no node of the spec (a pointer that does not resolve, an unknown operationId): its finding is then reported without a line."}

// compilerRules describe the checks compiler.Check makes: gwc build refuses
// a spec on their errors, and lint reports them under the same ids.
func compilerRules() []*Rule {
	return []*Rule{
		{ID: spec.CodeSyntax, Severity: diag.Error, Category: Structure, Title: "the file is not valid YAML or JSON",
			Description: "A syntax error, a duplicate key, an unknown alias or text that is not UTF-8. The finding points where the mistake is (an unclosed bracket's own line)."},
		{ID: spec.CodeVersion, Severity: diag.Error, Category: Structure, Title: "not an OpenAPI 3.0 or 3.1 document",
			Description: "The `openapi` field is missing, is not a version string, or names a version gwc does not read (Swagger 2.0, OpenAPI 4)."},
		{ID: spec.CodeRef, Severity: diag.Error, Category: Structure, Title: "a $ref that cannot be resolved",
			Description: "The reference names a file that does not exist, a JSON pointer that reaches nothing, a remote URL (gwc builds from local files), or a cycle of references that only point at each other."},
		{ID: spec.CodeIO, Severity: diag.Error, Category: Structure, Title: "a referenced file cannot be read",
			Description: "A file a `$ref` names exists but cannot be read (permissions, a directory)."},
		{ID: compiler.CodeNonStandardRef, Severity: diag.Warning, Category: Structure, Title: "a $ref where OpenAPI allows none",
			Description: "Redocly-style trees reference whole operations, descriptions or `properties` maps. gwc and Redocly resolve them; kin-openapi, code generators and most other tools do not. Bundle the spec, or inline the referenced parts."},
		{ID: lower.CodeSchema, Severity: diag.Error, Category: Structure, Title: "a schema invalid in its dialect",
			Description: "A schema that is not an object (or a boolean in 3.1), keywords of the wrong type, a keyword of the other OpenAPI version (3.0's boolean `exclusiveMinimum` in 3.1), or what gwc cannot express in JSON Schema 2020-12. Errors stop a build; warnings say what gwc does instead."},
		{ID: lower.CodeDiscriminator, Severity: diag.Error, Category: Structure, Title: "a discriminator gwc cannot apply",
			Description: "A `discriminator` that is not an object, or whose mapping names schemas that are not there."},
		{ID: compiler.CodeTemplate, Severity: diag.Error, Category: Gateway, Title: "a path template that cannot be routed",
			Description: "Unbalanced braces, an empty parameter, two parameters with nothing between them, or a query string in the template, which no request path matches."},
		{ID: compiler.CodeRouteConflict, Severity: diag.Error, Category: Gateway, Title: "two templates matching the same requests",
			Description: "`/users/{id}` and `/users/{name}` for one method route the same requests: the finding names both places. Rename one path, or merge the operations."},
		{ID: compiler.CodeServers, Severity: diag.Error, Category: Gateway, Title: "a servers entry whose base path cannot be read",
			Description: "gwc routes every path under the base path of `servers`; a URL it cannot parse, or several entries with different base paths it cannot choose between."},
		{ID: compiler.CodeOperation, Severity: diag.Error, Category: Structure, Title: "an operation OpenAPI or the gateway cannot use",
			Description: "A request body without media types, an example too large to keep, and other operation-level problems."},
		{ID: compiler.CodeParameter, Severity: diag.Error, Category: Structure, Title: "a parameter that cannot be decoded",
			Description: "A parameter without `name` or `in`, a style its location does not allow, `content` with other than one media type; and, as warnings, path parameters declared but absent from the template or used in it without being declared."},
		{ID: compiler.CodeSecurity, Severity: diag.Error, Category: Gateway, Title: "a security requirement gwc cannot enforce",
			Description: "A requirement naming a scheme `components.securitySchemes` does not define, an apiKey scheme without `in` or `name`, or a scheme type OpenAPI does not have."},
		{ID: compiler.CodeReference, Severity: diag.Error, Category: Gateway, Title: "x-gateway names something that does not exist",
			Description: "An upstream, rate limit or authorizer named by `defaults`, a path item or an operation that the root `x-gateway` does not define. The message suggests the closest name."},
		{ID: compiler.CodeOperationID, Severity: diag.Error, Category: Structure, Title: "an operationId used twice",
			Description: "operationIds name operations in metrics, logs, policies and generated clients, so they must be unique; the finding names the other operation."},
		{ID: xgateway.Code, Severity: diag.Error, Category: Gateway, Title: "x-gateway does not match its schema",
			Description: "An unknown key (with a \"did you mean\" suggestion), a value of the wrong type or out of range, or a malformed secret reference, checked against docs/x-gateway.schema.json."},
		{ID: xgateway.CodeLiteralSecret, Severity: diag.Error, Category: Gateway, Title: "a literal where a secret reference is required",
			Description: "API keys, htpasswd files and the Redis URL are named by reference, `env:NAME` or `file:PATH`, resolved by the runtime when it loads a bundle; a literal would travel with the spec into repositories, bundles and logs. The message shows at most the value's first two characters."},
	}
}
