package iostreams

// ColorScheme wraps text in terminal colours when its stream has colour on,
// and returns it unchanged otherwise. The zero value writes no colour.
type ColorScheme struct {
	enabled bool
}

// Enabled reports whether the scheme writes colour.
func (c ColorScheme) Enabled() bool { return c.enabled }

// Bold, Red, Yellow, Green, Cyan and Gray return s in that style.
func (c ColorScheme) Bold(s string) string   { return c.sgr("1", s) }
func (c ColorScheme) Red(s string) string    { return c.sgr("31", s) }
func (c ColorScheme) Yellow(s string) string { return c.sgr("33", s) }
func (c ColorScheme) Green(s string) string  { return c.sgr("32", s) }
func (c ColorScheme) Cyan(s string) string   { return c.sgr("36", s) }
func (c ColorScheme) Gray(s string) string   { return c.sgr("90", s) }

// sgr wraps s in an ANSI Select Graphic Rendition sequence and a reset.
func (c ColorScheme) sgr(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
