package xgateway

import (
	"net/textproto"
	"strconv"

	"github.com/gwcdev/gwc/compiler/spec"
)

// semanticChecks reports what the schema cannot say: a target listed twice
// in one upstream, an upstream whose targets all have weight 0, and a header named twice (in two spellings, since YAML
// keys are case-sensitive and header names are not) in one set or add map.
// They run after schema validation and look only at values of the right
// shape, so that nothing is reported twice.
func semanticChecks(r *reporter, lv level) {
	base := locate(r.base, nil)
	switch lv {
	case levelRoot:
		ups := locate(base, []string{"upstreams"})
		for _, p := range pairs(ups.node) {
			up := locate(ups, []string{p.Key.Value})
			duplicateTargets(r, locate(up, []string{"targets"}))
		}
		defaults := locate(base, []string{"defaults"})
		if object(defaults.node) != nil {
			duplicateHeaders(r, defaults)
		}
	case levelPolicy:
		duplicateHeaders(r, base)
	}
}

func duplicateTargets(r *reporter, targets place) {
	seen := map[string]int{}
	weighted := false
	for _, e := range elems(targets.node) {
		e = e.Deref()
		w := object(e).Get("weight")
		if e.Kind == spec.String || w == nil || w.Value != "0" {
			weighted = true
		}
	}
	if len(elems(targets.node)) > 0 && !weighted {
		r.errorf(targets, "%s: every target has weight 0, so the upstream would get no traffic; give at least one a weight above 0", targets.label)
	}
	for i, e := range elems(targets.node) {
		e = e.Deref()
		url, ok := e.Str()
		if !ok {
			url = str(object(e).Get("url"))
		}
		if url == "" {
			continue
		}
		if first, dup := seen[url]; dup {
			at := locate(targets, []string{strconv.Itoa(i)})
			r.errorf(at, "%s: %q is already target %d; list a target once (use weight to send it more traffic)", targets.label, url, first)
			continue
		}
		seen[url] = i
	}
}

func duplicateHeaders(r *reporter, policy place) {
	for _, dir := range []string{"request", "response"} {
		for _, op := range []string{"set", "add"} {
			m := locate(policy, []string{"headers", dir, op})
			if object(m.node) == nil {
				continue
			}
			seen := map[string]string{}
			for _, p := range pairs(m.node) {
				canon := textproto.CanonicalMIMEHeaderKey(p.Key.Value)
				if first, dup := seen[canon]; dup {
					at := keyPlace(m, p.Key.Value)
					r.errorf(at, "%s: header %q is also written %q (header names are case-insensitive)", m.label, p.Key.Value, first)
					continue
				}
				seen[canon] = p.Key.Value
			}
		}
	}
}
