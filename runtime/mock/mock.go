// Package mock answers operations from the examples of their spec, for
// operations that have no upstream (or say `mock: true`).
//
// Which response: the lowest declared 2xx status, else 2XX (answered as
// 200), else default (200). Clients may ask for another with the header
// `Prefer: code=404` and for a named example with `Prefer: example=NAME`
// (the convention of Stoplight Prism, so existing client test suites work).
// Which media type: the first declared one the Accept header allows; with
// no acceptable one the answer is 406. A response without content (204)
// answers with no body; a media type without any example is a 501 problem,
// since gwc will not invent data.
package mock

import (
	"encoding/json"
	"mime"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/problem"
)

// Answer is a mock response.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	// Headers are the response's declared headers that have an example.
	Headers [][2]string
}

// Respond chooses op's mock answer for a request with the given Accept and
// Prefer header values, or returns the problem to answer instead.
func Respond(op *bundle.Operation, accept, prefer string) (*Answer, *problem.Problem) {
	wantCode, wantExample := parsePrefer(prefer)
	resp, status := pick(op.Responses, wantCode)
	if resp == nil {
		if wantCode != "" {
			return nil, &problem.Problem{Reason: problem.NotImplemented,
				Detail: "operation " + op.ID + " declares no response " + strconv.Quote(wantCode) + " (asked for by Prefer: code=)"}
		}
		return nil, &problem.Problem{Reason: problem.NotImplemented, Detail: "operation " + op.ID + " declares no success response to mock"}
	}
	a := &Answer{Status: status}
	for _, h := range resp.Headers {
		if v, ok := headerValue(h.Example); ok {
			a.Headers = append(a.Headers, [2]string{h.Name, v})
		}
	}
	if len(resp.Content) == 0 {
		return a, nil
	}
	mc := negotiate(resp.Content, accept)
	if mc == nil {
		types := make([]string, len(resp.Content))
		for i, c := range resp.Content {
			types[i] = c.Type
		}
		return nil, &problem.Problem{Reason: problem.NotAcceptable,
			Detail: "Accept " + strconv.Quote(accept) + " allows none of " + strings.Join(types, ", ")}
	}
	if len(mc.Examples) == 0 {
		return nil, &problem.Problem{Reason: problem.NotImplemented,
			Detail: "operation " + op.ID + " has no example for " + resp.Status + " " + mc.Type}
	}
	ex := &mc.Examples[0]
	if wantExample != "" {
		ex = nil
		for i := range mc.Examples {
			if mc.Examples[i].Name == wantExample {
				ex = &mc.Examples[i]
				break
			}
		}
		if ex == nil {
			return nil, &problem.Problem{Reason: problem.NotImplemented,
				Detail: "operation " + op.ID + " has no example named " + strconv.Quote(wantExample) + " for " + resp.Status + " " + mc.Type}
		}
	}
	a.ContentType = mc.Type
	a.Body = body(mc.Type, ex.Value)
	return a, nil
}

// body is the example as the media type carries it: JSON as is, a string
// example of a text type as its text.
func body(mediaType string, v json.RawMessage) []byte {
	if isJSON(mediaType) {
		return v
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []byte(s)
	}
	return v
}

func isJSON(mediaType string) bool {
	mt, _, _ := strings.Cut(mediaType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "*/*"
}

// headerValue renders a header example: a string as is, anything else as
// its JSON text; nil when there is no example.
func headerValue(v json.RawMessage) (string, bool) {
	if len(v) == 0 {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return string(v), true
}

// pick chooses the response to mock and its status code.
func pick(rs []bundle.Response, want string) (*bundle.Response, int) {
	if want != "" {
		for i := range rs {
			if rs[i].Status == want {
				if n, err := strconv.Atoi(want); err == nil {
					return &rs[i], n
				}
			}
		}
		return nil, 0
	}
	best, bestCode := -1, 0
	for i, r := range rs {
		n, err := strconv.Atoi(r.Status)
		if err == nil && n >= 200 && n < 300 && (best < 0 || n < bestCode) {
			best, bestCode = i, n
		}
	}
	if best >= 0 {
		return &rs[best], bestCode
	}
	for _, fallback := range []string{"2XX", "2xx", "default"} {
		for i := range rs {
			if rs[i].Status == fallback {
				return &rs[i], 200
			}
		}
	}
	return nil, 0
}

// parsePrefer reads the code= and example= preferences of a Prefer header.
func parsePrefer(prefer string) (code, example string) {
	for _, part := range strings.FieldsFunc(prefer, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "code":
			code = v
		case "example":
			example = v
		}
	}
	return code, example
}

// negotiate returns the first declared content the Accept header allows,
// honouring q=0 exclusions; an empty Accept allows anything.
func negotiate(cs []bundle.MockContent, accept string) *bundle.MockContent {
	if strings.TrimSpace(accept) == "" {
		return &cs[0]
	}
	type rng struct {
		typ, sub string
		q        float64
	}
	var ranges []rng
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil {
				q = f
			}
		}
		typ, sub, _ := strings.Cut(mt, "/")
		ranges = append(ranges, rng{typ, sub, q})
	}
	// The best q wins; among equals the spec's order decides.
	var best *bundle.MockContent
	bestQ := 0.0
	for i := range cs {
		mt, _, err := mime.ParseMediaType(cs[i].Type)
		if err != nil {
			mt = strings.ToLower(cs[i].Type)
		}
		typ, sub, _ := strings.Cut(mt, "/")
		q, specificity := -1.0, -1
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > specificity {
				specificity, q = s, r.q
			}
		}
		if q > bestQ {
			best, bestQ = &cs[i], q
		}
	}
	return best
}
