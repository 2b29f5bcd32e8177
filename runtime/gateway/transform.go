package gateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gwcdev/gwc/runtime/bundle"
)

// Header transforms (`x-gateway.headers`): templates compiled once at load,
// rendered per request.

// placeholder kinds.
const (
	litPart = iota
	claimPart
	pathPart
	queryPart
	headerPart
	clientPart
	requestIDPart
)

type tmplPart struct {
	kind int
	text string // the literal, or the name after "claims.", "path." …
}

type template struct {
	parts []tmplPart
	// dynamic is set when a placeholder is present: an empty rendering
	// then leaves the header out rather than sending it empty.
	dynamic bool
	// identity is set when it names the caller ({client}, {claims.*}).
	identity bool
}

func compileTemplate(s string) (template, error) {
	var t template
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t.parts = append(t.parts, tmplPart{kind: litPart, text: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{kind: litPart, text: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("template %q: %q is not closed", s, s[i:])
		}
		inner := s[i+1 : i+j]
		s = s[i+j+1:]
		t.dynamic = true
		switch inner {
		case "client":
			t.parts = append(t.parts, tmplPart{kind: clientPart})
			t.identity = true
			continue
		case "request_id":
			t.parts = append(t.parts, tmplPart{kind: requestIDPart})
			continue
		}
		prefix, name, _ := strings.Cut(inner, ".")
		kind := map[string]int{"claims": claimPart, "path": pathPart, "query": queryPart, "header": headerPart}[prefix]
		if kind == 0 || name == "" {
			return t, fmt.Errorf("template: unknown placeholder {%s}", inner)
		}
		t.parts = append(t.parts, tmplPart{kind: kind, text: name})
		t.identity = t.identity || kind == claimPart
	}
	return t, nil
}

// render appends the template's value for r to dst, without control
// characters (a claim cannot add a header line).
func (t *template) render(dst []byte, r *request) []byte {
	for _, p := range t.parts {
		var v string
		switch p.kind {
		case litPart:
			v = p.text
		case clientPart:
			v = r.identity.Client
		case requestIDPart:
			v = b2s(r.id)
		case pathPart:
			v, _ = r.params.Get(p.text)
		case queryPart:
			v = b2s(r.ctx.URI().QueryArgs().Peek(p.text))
		case headerPart:
			v = b2s(r.ctx.Request.Header.Peek(p.text))
		case claimPart:
			switch c := r.identity.Claims[p.text].(type) {
			case string:
				v = c
			case float64:
				v = strconv.FormatFloat(c, 'f', -1, 64)
			case bool:
				v = strconv.FormatBool(c)
			}
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= 0x20 && c != 0x7f || c == '\t' {
				dst = append(dst, c)
			}
		}
	}
	return dst
}

// headerOp sets or adds one header.
type headerOp struct {
	name string
	tmpl template
	add  bool
}

// transform is one direction's operations: removals, then sets and adds in
// the spec's order.
type transform struct {
	remove []string
	ops    []headerOp
}

func compileTransform(ops *bundle.HeaderOps) (*transform, error) {
	if ops == nil {
		return nil, nil
	}
	t := &transform{remove: ops.Remove}
	for _, list := range []struct {
		values []bundle.HeaderValue
		add    bool
	}{{ops.Set, false}, {ops.Add, true}} {
		for _, hv := range list.values {
			tm, err := compileTemplate(hv.Value)
			if err != nil {
				return nil, fmt.Errorf("headers %s %s: %w", map[bool]string{false: "set", true: "add"}[list.add], hv.Name, err)
			}
			t.ops = append(t.ops, headerOp{name: hv.Name, tmpl: tm, add: list.add})
		}
	}
	return t, nil
}

// headerSink is the part of fasthttp's request and response headers a
// transform uses.
type headerSink interface {
	Del(key string)
	SetBytesV(key string, value []byte)
	AddBytesV(key string, value []byte)
}

// apply renders every value first (a template may read a header the
// transform then removes), into the request's buffer, then removes, sets
// and adds. A header the transform sets, or adds from the caller's
// identity, is first removed as the client sent it, so that nobody passes a
// value of their own for it (X-Tenant, X-User); other adds append to what
// is there.
func (t *transform) apply(h headerSink, r *request) {
	var endsBuf [16]int
	ends := endsBuf[:0]
	out := r.hdrBuf[:0]
	for _, op := range t.ops {
		out = op.tmpl.render(out, r)
		ends = append(ends, len(out))
	}
	r.hdrBuf = out
	for _, name := range t.remove {
		h.Del(name)
	}
	for _, op := range t.ops {
		if !op.add || op.tmpl.identity {
			h.Del(op.name)
		}
	}
	start := 0
	for i, op := range t.ops {
		v := out[start:ends[i]]
		start = ends[i]
		switch {
		case len(v) == 0 && op.tmpl.dynamic:
			// nothing to say: no claim, no parameter
		case op.add:
			h.AddBytesV(op.name, v)
		default:
			h.SetBytesV(op.name, v)
		}
	}
}
