package bundle

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	if err := sampleBundle().Validate(); err != nil {
		t.Fatalf("sample bundle: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(b *Bundle)
		want   string
	}{
		{"operation out of range", func(b *Bundle) { b.Routes[1].Operation = 3 },
			`routes[1] POST "/v1/pets": operation 3 is out of range (the bundle has 3 operations)`},
		{"negative operation", func(b *Bundle) { b.Routes[0].Operation = -1 }, `routes[0] GET "/v1/pets": operation -1 is out of range`},
		{"route and operation disagree", func(b *Bundle) { b.Routes[0].Operation = 1 },
			`routes[0] GET "/v1/pets": does not match its operation "createPet" (POST "/v1/pets")`},
		{"duplicate route", func(b *Bundle) { b.Routes = append(b.Routes, b.Routes[0]) }, `routes[3] GET "/v1/pets": duplicates routes[0]`},
		{"lower-case route method", func(b *Bundle) { b.Routes[0].Method = "get" }, `routes[0] get "/v1/pets": method "get" must be an upper-case HTTP method`},
		{"route path", func(b *Bundle) { b.Routes[0].Path = "v1/pets" }, `routes[0] GET "v1/pets": path "v1/pets" must start with "/"`},
		{"operation method", func(b *Bundle) { b.Operations[2].Method = "Get" }, `operations[2] "getPet": method "Get" must be an upper-case HTTP method`},
		{"operation path", func(b *Bundle) { b.Operations[2].Path = "" }, `operations[2] "getPet": path "" must start with "/"`},
		{"base path", func(b *Bundle) { b.Operations[0].BasePath = "v1" }, `operations[0] "listPets": basePath "v1" must start with "/"`},
		{"operation id", func(b *Bundle) { b.Operations[0].ID = "" }, `operations[0] "": id is empty`},
		{"unknown upstream", func(b *Bundle) { b.Operations[0].Policy.Upstream = "pet" }, `operations[0] "listPets": upstream "pet" is not defined`},
		{"unknown aggregate upstream", func(b *Bundle) { b.Operations[2].Policy.Aggregate[1].Upstream = "people" },
			`operations[2] "getPet": aggregate[1]: upstream "people" is not defined`},
		{"aggregate path", func(b *Bundle) { b.Operations[2].Policy.Aggregate[0].Path = "pets" }, `aggregate[0]: path "pets" must start with "/"`},
		{"unknown authorizer", func(b *Bundle) { b.Operations[1].Policy.Authorizer = "rego" }, `operations[1] "createPet": authorizer "rego" is not defined`},
		{"unknown rate limit", func(b *Bundle) { b.Operations[0].Policy.RateLimit.Name = "strict" }, `operations[0] "listPets": rate limit "strict" is not defined`},
		{"bad rate limit key", func(b *Bundle) { b.Operations[0].Policy.RateLimit.Key = "header:" }, `rate limit "default": key "header:" must be ip, client, header:NAME or claim:NAME`},
		{"zero rate", func(b *Bundle) { b.RateLimits[0].Per = 0 }, `rateLimits[0] "default": per 0s must be positive`},
		{"unknown scheme", func(b *Bundle) { b.Operations[2].Security[0].Schemes[1].Scheme = "jwt" },
			`operations[2] "getPet": security[0]: security scheme "jwt" is not defined`},
		{"empty requirement", func(b *Bundle) { b.Operations[1].Security[0].Schemes = nil }, `security[0]: requirement names no scheme`},
		{"public with security", func(b *Bundle) { b.Operations[1].Public = true }, `operations[1] "createPet": is public but has security requirements`},
		{"negative timeout", func(b *Bundle) { b.Operations[0].Policy.Timeout = -1 }, `operations[0] "listPets": timeout -1ns is negative`},
		{"negative cache ttl", func(b *Bundle) { b.Operations[0].Policy.Cache.TTL = -5 }, `cache ttl -5ns is negative`},
		{"negative max body", func(b *Bundle) { b.Operations[1].Policy.MaxBody = -1 }, `maxBody -1 is negative`},
		{"bad ip rule", func(b *Bundle) { b.Operations[1].Policy.IP.Allow[0] = "10.0.0.0/33" }, `ip: "10.0.0.0/33" is not a CIDR or IP address`},
		{"policy path", func(b *Bundle) { b.Operations[0].Policy.Path = "x" }, `policy path "x" must start with "/"`},
		{"param in", func(b *Bundle) { b.Operations[0].Params[0].In = "body" }, `operations[0] "listPets": params[0] "limit": in "body" must be path, query, header or cookie`},
		{"param style", func(b *Bundle) { b.Operations[0].Params[0].Style = "matrix" }, `params[0] "limit": style: "matrix" is not one of "form", "spaceDelimited", "pipeDelimited", "deepObject"`},
		{"optional path param", func(b *Bundle) { b.Operations[2].Params[0].Required = false }, `params[0] "id": path parameters must be required`},
		{"param type", func(b *Bundle) { b.Operations[0].Params[0].Type = "int" }, `params[0] "limit": type: "int" is not one of`},
		{"duplicate header param", func(b *Bundle) {
			b.Operations[2].Params = append(b.Operations[2].Params, Param{Name: "x-trace", In: "header", Style: "simple"})
		}, `params[3]: header parameter "x-trace" is declared twice`},
		{"param schema ref", func(b *Bundle) { b.Operations[2].Params[0].Schema = json.RawMessage(`{"$ref":"#/$defs/a~1b%20c"}`) },
			`params[0] "id": $ref "#/$defs/a~1b%20c": definition "a/b c" is not defined`},
		{"body schema ref", func(b *Bundle) {
			b.Operations[1].Body.Content[0].Schema = json.RawMessage(`{"items":{"$ref":"#/$defs/Pet"}}`)
		},
			`operations[1] "createPet": body.content[0] "application/json": items: $ref "#/$defs/Pet": definition "Pet" is not defined`},
		{"external ref", func(b *Bundle) { b.Operations[1].Body.Content[0].Schema = json.RawMessage(`{"$ref":"pet.yaml#/Pet"}`) },
			`$ref "pet.yaml#/Pet": bundle schemas may only refer to "#/$defs/NAME" definitions`},
		{"ref into a definition", func(b *Bundle) {
			b.Operations[1].Body.Content[0].Schema = json.RawMessage(`{"$ref":"#/$defs/NewPet/properties/name"}`)
		},
			`points inside a definition`},
		{"ref not a string", func(b *Bundle) { b.Operations[1].Body.Content[0].Schema = json.RawMessage(`{"$ref":1}`) }, `$ref is not a string`},
		{"schema not JSON", func(b *Bundle) { b.Operations[1].Body.Content[0].Schema = json.RawMessage(`{"type":`) }, `schema is not valid JSON`},
		{"schema a string", func(b *Bundle) { b.Operations[1].Body.Content[0].Schema = json.RawMessage(`"object"`) }, `schema must be an object or a boolean`},
		{"repeated media type", func(b *Bundle) { b.Operations[1].Body.Content[1].Type = "application/json" },
			`body.content[1]: media type "application/json" is empty or repeated`},
		{"def ref", func(b *Bundle) {
			b.Defs["Tag"] = json.RawMessage(`{"anyOf":[{"type":"null"},{"$ref":"#/$defs/Colour"}]}`)
		},
			`defs "Tag": anyOf[1]: $ref "#/$defs/Colour": definition "Colour" is not defined`},
		{"empty def name", func(b *Bundle) { b.Defs[""] = json.RawMessage(`true`) }, `defs: a definition has an empty name`},
		{"duplicate upstream", func(b *Bundle) { b.Upstreams[1].Name = "owners" }, `upstreams[1] "owners": name is used twice`},
		{"unnamed scheme", func(b *Bundle) { b.SecuritySchemes[0].Name = "" }, `securitySchemes[0]: name is empty`},
		{"no targets", func(b *Bundle) { b.Upstreams[0].Targets = nil }, `upstreams[0] "owners": has no targets`},
		{"target url", func(b *Bundle) { b.Upstreams[1].Targets[1].URL = "10.0.0.2:8080" },
			`upstreams[1] "pets": targets[1]: url "10.0.0.2:8080" must be an absolute http or https URL`},
		{"negative weight", func(b *Bundle) { b.Upstreams[1].Targets[0].Weight = -1 }, `targets[0]: weight -1 is negative`},
		{"balance", func(b *Bundle) { b.Upstreams[0].Balance = "fastest" }, `balance: "fastest" is not one of`},
		{"health interval", func(b *Bundle) { b.Upstreams[1].HealthCheck.Interval = 0 }, `healthCheck: interval 0s must be positive`},
		{"circuit open for", func(b *Bundle) { b.Upstreams[1].CircuitBreaker.OpenFor = -1 }, `circuitBreaker openFor -1ns is negative`},
		{"scheme type", func(b *Bundle) { b.SecuritySchemes[0].Type = "apikey" }, `securitySchemes[0] "apiKey": type "apikey" must be`},
		{"api key location", func(b *Bundle) { b.SecuritySchemes[0].In = "body" }, `in: "body" is not one of "query", "header", "cookie"`},
		{"secret reference", func(b *Bundle) { b.SecuritySchemes[0].Keys = "sk_live_123" }, `keys: secret reference "sk_live_123" must be env:NAME or file:PATH`},
		{"clock skew", func(b *Bundle) { b.SecuritySchemes[1].ClockSkew = -1 }, `securitySchemes[1] "oauth": clockSkew -1ns is negative`},
		{"authorizer url", func(b *Bundle) { b.Authorizers[0].URL = "opa" }, `authorizers[0] "opa": url "opa" must be an absolute URL`},
		{"authorizer on error", func(b *Bundle) { b.Authorizers[0].OnError = "ignore" }, `onError: "ignore" is not one of`},
		{"redis url", func(b *Bundle) { b.Store.Redis.URL = "" }, `store.redis: url: secret reference "" must be env:NAME or file:PATH`},
		{"trusted proxy", func(b *Bundle) { b.TrustedProxies[1] = "localhost" }, `trustedProxies[1]: "localhost" is not a CIDR or IP address`},
		{"response status", func(b *Bundle) { b.Operations[1].Responses[0].Status = "2xxx" }, `responses[0]: status "2xxx" must be`},
		{"header example", func(b *Bundle) { b.Operations[0].Responses[0].Headers[0].Example = json.RawMessage(`{`) }, `header "X-Total": example is not valid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := sampleBundle()
			tt.mutate(b)
			err := b.Validate()
			if err == nil {
				t.Fatalf("Validate accepted it; want %q", tt.want)
			}
			if got := err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("Validate error\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
