package gateway

import (
	"fmt"
	"net/netip"

	"github.com/gwcdev/gwc/runtime/bundle"
	"github.com/gwcdev/gwc/runtime/problem"
)

// ipRules is an operation's `ip` policy: a client address in deny is
// refused; when allow is not empty, an address outside it is refused too.
// The address is the client's (behind trusted_proxies, the X-Forwarded-For
// entry they vouch for), never a header a client sets itself.
type ipRules struct {
	allow, deny []netip.Prefix
}

func newIPRules(r *bundle.IPRules) (*ipRules, error) {
	p := &ipRules{}
	for _, list := range []struct {
		in  []string
		out *[]netip.Prefix
	}{{r.Allow, &p.allow}, {r.Deny, &p.deny}} {
		for _, c := range list.in {
			pr, err := parsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("ip: %w", err)
			}
			*list.out = append(*list.out, pr)
		}
	}
	return p, nil
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkIP is the chain step, first of all: 403 for a refused address.
func (o *operation) checkIP(r *request) bool {
	a := r.clientAddr()
	if contains(o.ip.deny, a) || (len(o.ip.allow) > 0 && !contains(o.ip.allow, a)) {
		r.fail(problem.Forbidden, "requests from "+a.String()+" are not allowed to call "+o.op.ID, nil)
		return false
	}
	return true
}
