package bundle

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sampleBundle returns a small bundle that uses every part of the format:
// every named list, a store, policies of every kind, and schemas whose
// references need escaping.
func sampleBundle() *Bundle {
	sec := Duration(time.Second)
	return &Bundle{
		API: API{Title: "Pets", Version: "1.0.0", OpenAPI: "3.1.0", Source: "spec.yaml",
			Files: []string{"spec.yaml", "schemas/pet.yaml"}, BuiltAt: "1700000000"},
		Routes: []Route{
			{Method: "GET", Path: "/v1/pets", Operation: 0},
			{Method: "POST", Path: "/v1/pets", Operation: 1},
			{Method: "GET", Path: "/v1/pets/{id}", Operation: 2},
		},
		Operations: []Operation{
			{
				ID: "listPets", Method: "GET", Path: "/pets", BasePath: "/v1",
				Params: []Param{{Name: "limit", In: "query", Style: "form", Explode: true, Type: "integer",
					Schema: json.RawMessage(`{"type":"integer","minimum":1}`)}},
				Public: true,
				Policy: Policy{Upstream: "pets", Timeout: 5 * sec,
					RateLimit: &RateLimit{Name: "default", Requests: 100, Per: 60 * sec, Burst: 10, Key: "ip"},
					Cache:     &Cache{TTL: 30 * sec, Vary: []string{"Accept"}},
					CORS:      &CORS{AllowOrigins: []string{"*"}, MaxAge: 600 * sec}},
				Responses: []Response{{Status: "200", Description: "pets", Content: []MockContent{{
					Type: "application/json", Examples: []Example{{Name: "two", Value: json.RawMessage(`[{"id":1,"name":"<Rex>"}]`)}}}},
					Headers: []MockHeader{{Name: "X-Total", Example: json.RawMessage(`2`)}}}},
				Source: Source{File: "spec.yaml", Line: 10, Col: 5},
			},
			{
				ID: "createPet", Method: "POST", Path: "/pets", BasePath: "/v1",
				Body: &RequestBody{Required: true, Content: []MediaType{
					{Type: "application/json", Schema: json.RawMessage(`{"$ref":"#/$defs/NewPet"}`)},
					{Type: "multipart/form-data", Schema: json.RawMessage(`{"type":"object"}`),
						Encoding: []Encoding{{Name: "photo", ContentType: "image/png"}}},
				}},
				Security: []Requirement{{Schemes: []SchemeRequirement{{Scheme: "apiKey"}}},
					{Schemes: []SchemeRequirement{{Scheme: "oauth", Scopes: []string{"pets:write"}}}}},
				Policy: Policy{Upstream: "pets", MaxBody: 1 << 20, Authorizer: "opa",
					RateLimit: &RateLimit{Name: "operation:createPet", Requests: 5, Per: sec, Burst: 5, Key: "header:X-Key"},
					Headers:   &Headers{Request: &HeaderOps{Set: []HeaderValue{{Name: "X-Gw", Value: "1"}}, Remove: []string{"Cookie"}}},
					IP:        &IPRules{Allow: []string{"10.0.0.0/8", "192.0.2.1"}}},
				Responses: []Response{{Status: "2XX"}, {Status: "default"}},
				Source:    Source{File: "spec.yaml", Line: 20, Col: 5},
			},
			{
				ID: "getPet", Method: "GET", Path: "/pets/{id}", BasePath: "/v1", Deprecated: true,
				Params: []Param{
					{Name: "id", In: "path", Required: true, Style: "simple", Type: "string",
						Schema: json.RawMessage(`{"$ref":"#/$defs/a~1b%20c~0d"}`)},
					{Name: "X-Trace", In: "header", Style: "simple"},
					{Name: "filter", In: "query", Style: "deepObject", Explode: true, ContentType: "application/json"},
				},
				Security: []Requirement{{Schemes: []SchemeRequirement{{Scheme: "apiKey"}, {Scheme: "oauth"}}}},
				Policy:   Policy{Aggregate: []Call{{Upstream: "pets", Path: "/pets/{id}", As: "pet"}, {Upstream: "owners", Path: "/owners", Method: "GET"}}},
				Source:   Source{File: "schemas/pet.yaml", Line: 3, Col: 1},
			},
		},
		Upstreams: []Upstream{
			{Name: "owners", Targets: []Target{{URL: "https://owners.internal", Weight: 1}}, Balance: "random"},
			{Name: "pets", Targets: []Target{{URL: "http://10.0.0.1:8080", Weight: 2}, {URL: "http://10.0.0.2:8080", Weight: 0}},
				Balance: "round-robin", Timeout: 10 * sec,
				Retries:        &Retries{Attempts: 2, On: []string{"connect-error", "503"}},
				HealthCheck:    &HealthCheck{Path: "/healthz", Interval: 10 * sec, Healthy: 2, Unhealthy: 3},
				CircuitBreaker: &CircuitBreaker{Failures: 5, OpenFor: 30 * sec}},
		},
		SecuritySchemes: []SecurityScheme{
			{Name: "apiKey", Type: "apiKey", In: "header", ParamName: "X-API-Key", Keys: "env:API_KEYS"},
			{Name: "oauth", Type: "oauth2", JWKSURL: "https://id.example/jwks", Issuer: "https://id.example",
				Audiences: []string{"pets"}, Algorithms: []string{"RS256"}, ClockSkew: 30 * sec},
		},
		Authorizers: []Authorizer{{Name: "opa", URL: "http://opa:8181/v1/data/allow", Timeout: sec, OnError: "deny"}},
		RateLimits: []RateLimit{
			{Name: "default", Requests: 100, Per: 60 * sec, Burst: 10, Key: "ip"},
			{Name: "operation:createPet", Requests: 5, Per: sec, Burst: 5, Key: "header:X-Key"},
		},
		Store:          &Store{Redis: &Redis{URL: "env:REDIS_URL", OnError: "open"}},
		TrustedProxies: []string{"10.0.0.0/8", "::1"},
		Defs: map[string]json.RawMessage{
			"NewPet":  json.RawMessage(`{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"tag":{"$ref":"#/$defs/Tag"},"const":{"const":{"$ref":"#/$defs/NotADef"}}}}`),
			"Tag":     json.RawMessage(`{"type":["string","null"],"maxLength":20}`),
			"a/b c~d": json.RawMessage(`{"type":"string","pattern":"^[0-9]+$"}`),
			"Unused":  json.RawMessage(`{"allOf":[{"$ref":"#/$defs/Tag"}]}`),
		},
		Webhooks: 1,
	}
}

// largeBundle returns a synthetic bundle of the given size, for benchmarks:
// each operation has a body whose schema refers to a definition of about
// 1 KB, and definitions refer to their neighbours.
func largeBundle(ops, defs int) *Bundle {
	b := &Bundle{
		API:       API{Title: "Large", Version: "1", OpenAPI: "3.1.0", Source: "spec.yaml", Files: []string{"spec.yaml"}},
		Upstreams: []Upstream{{Name: "up", Targets: []Target{{URL: "http://up:80", Weight: 1}}, Balance: "round-robin"}},
		Defs:      make(map[string]json.RawMessage, defs),
	}
	for i := range defs {
		var props []string
		for j := range 12 {
			props = append(props, fmt.Sprintf(`"field%02d":{"type":"string","maxLength":%d,"description":"field %d of definition %d, padded"}`, j, 10+j, j, i))
		}
		if i%10 != 9 { // chains of ten definitions
			props = append(props, fmt.Sprintf(`"next":{"$ref":"#/$defs/Def%04d"}`, (i+1)%defs))
		}
		b.Defs[fmt.Sprintf("Def%04d", i)] = json.RawMessage(`{"type":"object","properties":{` + strings.Join(props, ",") + `}}`)
	}
	for i := range ops {
		path := fmt.Sprintf("/r%03d/{id}", i)
		b.Routes = append(b.Routes, Route{Method: "POST", Path: path, Operation: i})
		b.Operations = append(b.Operations, Operation{
			ID: fmt.Sprintf("op%03d", i), Method: "POST", Path: path,
			Params: []Param{{Name: "id", In: "path", Required: true, Style: "simple", Type: "string", Schema: json.RawMessage(`{"type":"string"}`)}},
			Body: &RequestBody{Content: []MediaType{{Type: "application/json",
				Schema: json.RawMessage(fmt.Sprintf(`{"$ref":"#/$defs/Def%04d"}`, i%defs))}}},
			Public: true,
			Policy: Policy{Upstream: "up"},
			Source: Source{File: "spec.yaml", Line: i + 1, Col: 3},
		})
	}
	return b
}

// raw describes a bundle assembled by hand from the documented layout, so
// that tests can write what Marshal never would.
type raw struct {
	major, minor int
	version      string
	// payload is stored as is when set; otherwise json is compressed.
	payload     []byte
	json        []byte
	contentSize int // 0: len(json)
	reserved    int // extra header bytes, as a later minor may add
}

func (r raw) bytes(tb testing.TB) []byte {
	tb.Helper()
	if r.major == 0 {
		r.major = FormatMajor
	}
	if r.version == "" {
		r.version = "v1.0.0-test"
	}
	payload := r.payload
	if payload == nil {
		var err error
		if payload, err = compress(r.json); err != nil {
			tb.Fatal(err)
		}
	}
	if r.contentSize == 0 {
		r.contentSize = len(r.json)
	}
	out := append([]byte(magic), byte(r.major>>8), byte(r.major), byte(r.minor>>8), byte(r.minor), byte(len(r.version)))
	out = append(out, r.version...)
	out = binary.BigEndian.AppendUint32(out, uint32(bodyLen10+r.reserved))
	out = append(out, encZstdJSON, sigNone)
	out = binary.BigEndian.AppendUint64(out, uint64(len(payload)))
	out = binary.BigEndian.AppendUint64(out, uint64(r.contentSize))
	sum := sha256.Sum256(payload)
	out = append(out, sum[:]...)
	out = append(out, make([]byte, ed25519.SignatureSize+r.reserved)...)
	return append(out, payload...)
}
