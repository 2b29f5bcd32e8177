package validate

import (
	"regexp"
	"regexp/syntax"
)

// classPattern matches the most common shape of a request schema pattern,
// one character class repeated over the whole string ("^[a-z0-9-]+$",
// "^[A-Z]{2,3}$", "^.*$"), perhaps after a literal prefix (identifiers such
// as "^CA[0-9a-f]{32}$" or "^ord_[0-9a-z]{10}$"), on ASCII strings without
// running the regexp engine: a comparison, a table lookup per byte and a
// length check. Other strings (any non-ASCII byte) go to the regexp, so
// answers are always the regexp's.
type classPattern struct {
	prefix   string    // ASCII, matched case-sensitively
	ascii    [2]uint64 // the class's members below 0x80
	min, max int       // repetitions; max -1: unbounded
	re       *regexp.Regexp
}

// newClassPattern returns the class matcher of re's pattern p, or nil when p
// has another shape.
func newClassPattern(p string, re *regexp.Regexp) *classPattern {
	t, err := syntax.Parse(p, syntax.Perl) // as regexp.Compile parses
	if err != nil || t.Op != syntax.OpConcat || len(t.Sub) < 3 || len(t.Sub) > 4 ||
		t.Sub[0].Op != syntax.OpBeginText || t.Sub[len(t.Sub)-1].Op != syntax.OpEndText {
		return nil
	}
	cp := &classPattern{re: re}
	if len(t.Sub) == 4 {
		lit := t.Sub[1]
		if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
			return nil
		}
		for _, r := range lit.Rune {
			if r >= 0x80 {
				return nil
			}
		}
		cp.prefix = string(lit.Rune)
	}
	rep := t.Sub[len(t.Sub)-2]
	switch rep.Op {
	case syntax.OpStar:
		cp.min, cp.max = 0, -1
	case syntax.OpPlus:
		cp.min, cp.max = 1, -1
	case syntax.OpQuest:
		cp.min, cp.max = 0, 1
	case syntax.OpRepeat:
		cp.min, cp.max = rep.Min, rep.Max
	default:
		return nil
	}
	if len(rep.Sub) != 1 {
		return nil
	}
	class := rep.Sub[0]
	var in func(r rune) bool
	switch class.Op {
	case syntax.OpCharClass:
		ranges := class.Rune
		in = func(r rune) bool {
			for i := 0; i+1 < len(ranges); i += 2 {
				if r >= ranges[i] && r <= ranges[i+1] {
					return true
				}
			}
			return false
		}
	case syntax.OpAnyCharNotNL:
		in = func(r rune) bool { return r != '\n' }
	case syntax.OpAnyChar:
		in = func(rune) bool { return true }
	default:
		return nil
	}
	for c := rune(0); c < 0x80; c++ {
		if in(c) {
			cp.ascii[c>>6] |= 1 << (c & 63)
		}
	}
	return cp
}

// match reports whether s matches the pattern.
func (cp *classPattern) match(s []byte) bool {
	full := s
	if cp.prefix != "" {
		if len(s) < len(cp.prefix) || string(s[:len(cp.prefix)]) != cp.prefix {
			for _, c := range s {
				if c >= 0x80 {
					return cp.re.Match(s)
				}
			}
			return false
		}
		for _, c := range s[:len(cp.prefix)] {
			if c >= 0x80 {
				return cp.re.Match(s)
			}
		}
		s = s[len(cp.prefix):]
	}
	for _, c := range s {
		if c >= 0x80 {
			return cp.re.Match(full)
		}
		if cp.ascii[c>>6]&(1<<(c&63)) == 0 {
			return false
		}
	}
	return len(s) >= cp.min && (cp.max < 0 || len(s) <= cp.max)
}

// matchPattern applies n's pattern to a string's content.
func (n *node) matchPattern(s []byte) bool {
	if n.classPattern != nil {
		return n.classPattern.match(s)
	}
	return n.pattern.Match(s)
}
