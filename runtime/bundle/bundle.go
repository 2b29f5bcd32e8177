// Package bundle is the contract between `gwc build` and `gwc serve`: the
// content of a compiled gateway (.gwb file) and its on-disk encoding.
//
// The runtime owns the artefact it executes, so this package lives under
// runtime/ and imports nothing from the compiler. Everything in a Bundle is
// already resolved: every `$ref`, every default, the effective policy of
// every operation. The runtime decodes it and builds its handlers; it never
// interprets OpenAPI.
//
// The encoding is described in docs/bundle-format.md.
package bundle

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bundle is a compiled gateway.
type Bundle struct {
	// API describes the spec the bundle was built from.
	API API `json:"api"`
	// Routes is the routing table: every routed operation's method and full
	// path template (with the servers base path), sorted by path then method.
	Routes []Route `json:"routes"`
	// Operations holds every routed operation, sorted by path then method;
	// Route.Operation indexes it.
	Operations []Operation `json:"operations"`
	// Upstreams are the named upstreams, sorted by name.
	Upstreams []Upstream `json:"upstreams,omitempty"`
	// SecuritySchemes are the schemes operations' security requirements
	// name, sorted by name.
	SecuritySchemes []SecurityScheme `json:"securitySchemes,omitempty"`
	// Authorizers are the named external authorizers, sorted by name.
	Authorizers []Authorizer `json:"authorizers,omitempty"`
	// RateLimits are the named rate limits, sorted by name. Operations carry
	// their effective limit; this list is for inspection and shared state.
	RateLimits []RateLimit `json:"rateLimits,omitempty"`
	// Store configures shared state (rate limits, cache); nil means memory.
	Store *Store `json:"store,omitempty"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `json:"trustedProxies,omitempty"`
	// Defs holds the request schemas' shared definitions, by name: lowered
	// JSON Schema 2020-12. Schema roots refer to them as "#/$defs/NAME"; see
	// SchemaDocument.
	Defs map[string]json.RawMessage `json:"defs,omitempty"`
	// Webhooks counts the 3.1 webhooks the spec declares; they are not routed.
	Webhooks int `json:"webhooks,omitempty"`
}

// API describes the source spec.
type API struct {
	Title   string `json:"title"`
	Version string `json:"version"`
	// OpenAPI is the spec's `openapi` version.
	OpenAPI string `json:"openapi"`
	// Source is the entry file's base name.
	Source string `json:"source"`
	// Files lists every spec file, relative to the entry file's directory.
	Files []string `json:"files"`
	// BuiltAt is SOURCE_DATE_EPOCH when it was set at build time; bundles
	// carry no other time, so identical input gives identical bytes.
	BuiltAt string `json:"builtAt,omitempty"`
}

// Route is one entry of the routing table.
type Route struct {
	Method string `json:"method"`
	// Path is the full path template: the servers base path followed by the
	// spec's path, e.g. "/v1/pets/{id}".
	Path      string `json:"path"`
	Operation int    `json:"operation"`
}

// Operation is one routed operation with everything the runtime needs.
type Operation struct {
	// ID is the operationId, or "METHOD /path" when the spec has none.
	ID     string `json:"id"`
	Method string `json:"method"`
	// Path is the spec's path template, without the base path.
	Path string `json:"path"`
	// BasePath is the servers base path this operation is mounted under
	// ("" for none); it is stripped before the upstream call.
	BasePath   string        `json:"basePath,omitempty"`
	Deprecated bool          `json:"deprecated,omitempty"`
	Params     []Param       `json:"params,omitempty"`
	Body       *RequestBody  `json:"body,omitempty"`
	Security   []Requirement `json:"security,omitempty"`
	// Public is true when the operation needs no authentication: `security: []`
	// or no security anywhere. Security is then empty.
	Public    bool       `json:"public,omitempty"`
	Policy    Policy     `json:"policy"`
	Responses []Response `json:"responses,omitempty"`
	Source    Source     `json:"source"`
}

// Source is a place in the spec.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// String returns the place as file:line:col.
func (s Source) String() string { return fmt.Sprintf("%s:%d:%d", s.File, s.Line, s.Col) }

// Param is a request parameter and how to decode it.
type Param struct {
	Name string `json:"name"`
	In   string `json:"in"` // path | query | header | cookie
	// Required is always true for path parameters.
	Required        bool `json:"required,omitempty"`
	Deprecated      bool `json:"deprecated,omitempty"`
	AllowEmptyValue bool `json:"allowEmptyValue,omitempty"`
	AllowReserved   bool `json:"allowReserved,omitempty"`
	// Style and Explode are the effective serialisation (defaults filled in:
	// form/true for query and cookie, simple/false for path and header).
	Style   string `json:"style"`
	Explode bool   `json:"explode"`
	// Type is the schema's primary JSON type when the decoder needs it to
	// split values ("array", "object") or convert them; "" when open.
	Type string `json:"type,omitempty"`
	// Schema is the lowered JSON Schema root (see Bundle.SchemaDocument).
	Schema json.RawMessage `json:"schema,omitempty"`
	// ContentType is set when the parameter is given with `content` rather
	// than `schema`: its value is a serialised document of that media type.
	ContentType string `json:"contentType,omitempty"`
}

// RequestBody is an operation's accepted request bodies.
type RequestBody struct {
	Required bool `json:"required,omitempty"`
	// Content is sorted by media type. A type may be a range ("text/*",
	// "*/*").
	Content []MediaType `json:"content"`
}

// MediaType is one accepted request media type.
type MediaType struct {
	Type string `json:"type"`
	// Schema is the lowered JSON Schema root; nil accepts any content.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Encoding describes form fields (urlencoded and multipart), sorted by
	// name.
	Encoding []Encoding `json:"encoding,omitempty"`
}

// Encoding is how one form field is serialised.
type Encoding struct {
	Name          string `json:"name"`
	ContentType   string `json:"contentType,omitempty"`
	Style         string `json:"style,omitempty"`
	Explode       bool   `json:"explode"`
	AllowReserved bool   `json:"allowReserved,omitempty"`
}

// Requirement is one alternative of an operation's security: every scheme in
// it must pass. An operation passes when any alternative does.
type Requirement struct {
	Schemes []SchemeRequirement `json:"schemes"`
}

// SchemeRequirement names a security scheme and the scopes it must grant.
type SchemeRequirement struct {
	Scheme string   `json:"scheme"`
	Scopes []string `json:"scopes,omitempty"`
}

// Response is a declared response, kept for mocks.
type Response struct {
	// Status is "200", a range such as "2XX", or "default".
	Status      string        `json:"status"`
	Description string        `json:"description,omitempty"`
	Content     []MockContent `json:"content,omitempty"`
	Headers     []MockHeader  `json:"headers,omitempty"`
}

// MockContent is a response media type with its examples.
type MockContent struct {
	Type string `json:"type"`
	// Examples are the media type's `example`, its `examples` in source
	// order, or else its schema's example; the first is the default answer.
	Examples []Example `json:"examples,omitempty"`
}

// Example is one example value.
type Example struct {
	Name  string          `json:"name,omitempty"`
	Value json.RawMessage `json:"value"`
}

// MockHeader is a response header with an example value.
type MockHeader struct {
	Name    string          `json:"name"`
	Example json.RawMessage `json:"example,omitempty"`
}

// Policy is an operation's effective gateway policy: the root defaults, the
// path item's x-gateway and the operation's, merged field by field.
type Policy struct {
	// Upstream names the upstream; "" means the operation is answered by
	// its mock (from the spec's examples, 501 where it has none).
	Upstream string `json:"upstream,omitempty"`
	// Mock answers from examples even when there is an upstream.
	Mock bool `json:"mock,omitempty"`
	// Path rewrites the upstream path; {name} is a captured path parameter.
	Path string `json:"path,omitempty"`
	// Timeout bounds the whole request, retries included; 0 means the
	// upstream's.
	Timeout Duration `json:"timeout,omitempty"`
	// MaxBody is the request body limit in bytes; 0 means the runtime
	// default.
	MaxBody    int64      `json:"maxBody,omitempty"`
	RateLimit  *RateLimit `json:"rateLimit,omitempty"`
	Cache      *Cache     `json:"cache,omitempty"`
	CORS       *CORS      `json:"cors,omitempty"`
	Headers    *Headers   `json:"headers,omitempty"`
	Authorizer string     `json:"authorizer,omitempty"`
	IP         *IPRules   `json:"ip,omitempty"`
	WebSocket  bool       `json:"websocket,omitempty"`
	Aggregate  []Call     `json:"aggregate,omitempty"`
}

// Upstream is a named set of targets.
type Upstream struct {
	Name    string   `json:"name"`
	Targets []Target `json:"targets"`
	// Balance is round-robin (default), least-requests or random.
	Balance string   `json:"balance"`
	Timeout Duration `json:"timeout,omitempty"`
	Retries *Retries `json:"retries,omitempty"`
	// HealthCheck probes targets actively; nil disables it.
	HealthCheck    *HealthCheck    `json:"healthCheck,omitempty"`
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	// CAFile is a PEM file of the CAs trusted for https targets.
	CAFile string `json:"caFile,omitempty"`
}

// Target is one upstream address.
type Target struct {
	URL    string `json:"url"`
	Weight int    `json:"weight"` // 1 unless set
}

// Retries says when a failed upstream call is tried again.
type Retries struct {
	Attempts int `json:"attempts"`
	// On lists "connect-error", "timeout" and status codes.
	On []string `json:"on"`
	// Unsafe allows retrying non-idempotent methods.
	Unsafe bool `json:"unsafe,omitempty"`
}

// HealthCheck is an active health check.
type HealthCheck struct {
	Path     string   `json:"path"`
	Interval Duration `json:"interval"`
	Timeout  Duration `json:"timeout,omitempty"`
	// Healthy and Unhealthy are the consecutive results that change a
	// target's state.
	Healthy   int `json:"healthy,omitempty"`
	Unhealthy int `json:"unhealthy,omitempty"`
}

// CircuitBreaker opens after Failures consecutive failures, for OpenFor.
type CircuitBreaker struct {
	Failures int      `json:"failures"`
	OpenFor  Duration `json:"openFor"`
}

// RateLimit is a token-bucket limit.
type RateLimit struct {
	// Name identifies the limit's shared state: the name of an entry of
	// `rate_limits`, or "operation:ID" for an inline limit, so that
	// operations naming one limit share its budget.
	Name     string   `json:"name"`
	Requests int64    `json:"requests"`
	Per      Duration `json:"per"`
	Burst    int64    `json:"burst"`
	// Key is ip, client, header:NAME or claim:NAME.
	Key string `json:"key"`
}

// Cache is a response cache policy.
type Cache struct {
	TTL    Duration `json:"ttl"`
	Vary   []string `json:"vary,omitempty"`
	Shared bool     `json:"shared,omitempty"`
}

// CORS is a CORS policy.
type CORS struct {
	AllowOrigins     []string `json:"allowOrigins"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	MaxAge           Duration `json:"maxAge,omitempty"`
}

// Headers are request and response header transforms.
type Headers struct {
	Request  *HeaderOps `json:"request,omitempty"`
	Response *HeaderOps `json:"response,omitempty"`
}

// HeaderOps sets, adds and removes headers. Values are templates.
type HeaderOps struct {
	Set    []HeaderValue `json:"set,omitempty"`
	Add    []HeaderValue `json:"add,omitempty"`
	Remove []string      `json:"remove,omitempty"`
}

// HeaderValue is a header name and value template, sorted by name.
type HeaderValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// IPRules allow and deny client networks.
type IPRules struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Call is one upstream call of an aggregate operation.
type Call struct {
	Upstream string `json:"upstream"`
	Path     string `json:"path"`
	Method   string `json:"method,omitempty"`
	// As is the member of the merged answer this call's JSON goes under;
	// "" merges its members into the top level.
	As string `json:"as,omitempty"`
}

// SecurityScheme is an OpenAPI security scheme with its gateway settings.
type SecurityScheme struct {
	Name string `json:"name"`
	// Type is apiKey, http, oauth2, openIdConnect or mutualTLS.
	Type string `json:"type"`
	// In and ParamName locate an apiKey.
	In        string `json:"in,omitempty"`
	ParamName string `json:"paramName,omitempty"`
	// Scheme is the http scheme (basic, bearer).
	Scheme           string `json:"scheme,omitempty"`
	BearerFormat     string `json:"bearerFormat,omitempty"`
	OpenIDConnectURL string `json:"openIdConnectUrl,omitempty"`
	// Keys lists the API keys (a secret reference).
	Keys SecretRef `json:"keys,omitempty"`
	// Htpasswd is the bcrypt password file for http basic.
	Htpasswd   SecretRef `json:"htpasswd,omitempty"`
	JWKSURL    string    `json:"jwksUrl,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	Audiences  []string  `json:"audiences,omitempty"`
	Algorithms []string  `json:"algorithms,omitempty"`
	ClockSkew  Duration  `json:"clockSkew,omitempty"`
}

// Authorizer is an external HTTP authorizer.
type Authorizer struct {
	Name           string   `json:"name"`
	URL            string   `json:"url"`
	Timeout        Duration `json:"timeout,omitempty"`
	CacheTTL       Duration `json:"cacheTtl,omitempty"`
	ForwardHeaders []string `json:"forwardHeaders,omitempty"`
	// OnError is deny (default) or allow when the authorizer fails.
	OnError string `json:"onError"`
}

// Store is shared state.
type Store struct {
	Redis *Redis `json:"redis,omitempty"`
}

// Redis is a Redis store.
type Redis struct {
	URL SecretRef `json:"url"`
	// OnError is open (default) or closed: what rate limits do when Redis
	// cannot be reached.
	OnError string `json:"onError"`
}

// SecretRef is a reference to a secret, resolved by the runtime when it
// loads the bundle: "env:NAME" or "file:PATH". Bundles never hold secrets.
type SecretRef string

// Kind returns "env" or "file", and the name or path.
func (s SecretRef) Kind() (kind, value string) {
	k, v, ok := strings.Cut(string(s), ":")
	if !ok {
		return "", string(s)
	}
	return k, v
}

// Duration is a time.Duration written as Go duration text ("1m30s").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d as Go duration text, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
