package router

// Params holds the path parameters of a match. It has a fixed capacity
// (MaxParams) so that Lookup never allocates; keep one per request (on a
// per-request struct or in a sync.Pool) and reuse it. Names come from the
// route's template; values are substrings of the looked-up path, still
// percent-encoded where Normalize kept an escape (decode them with
// url.PathUnescape when they contain "%").
type Params struct {
	names  []string
	values [MaxParams]string
	n      int
}

func (p *Params) reset() {
	p.names, p.n = nil, 0
}

func (p *Params) set(names []string) {
	p.names, p.n = names, len(names)
}

// Len returns the number of parameters.
func (p *Params) Len() int { return p.n }

// Name returns the i-th parameter's name, in template order.
func (p *Params) Name(i int) string {
	if i < 0 || i >= p.n {
		return ""
	}
	return p.names[i]
}

// Value returns the i-th parameter's raw value.
func (p *Params) Value(i int) string {
	if i < 0 || i >= p.n {
		return ""
	}
	return p.values[i]
}

// Get returns the raw value of the named parameter.
func (p *Params) Get(name string) (string, bool) {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.values[i], true
		}
	}
	return "", false
}
