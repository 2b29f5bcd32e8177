package xgateway

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// reporter turns the validator's errors about one x-gateway into
// diagnostics written for people: one message per problem, at the value
// (or key) at fault, naming it by its dotted path.
type reporter struct {
	schema *schemaSet
	base   place // the x-gateway value
	level  level
	ds     *diag.Diagnostics
	// skip holds unresolved references: the loader reported them, and
	// whatever the schema says about their nil value is noise.
	skip map[*spec.Node]bool
	seen map[string]bool
}

func (r *reporter) errorf(at place, format string, args ...any) {
	r.errorfCode(at, Code, format, args...)
}

func (r *reporter) errorfCode(at place, code, format string, args ...any) {
	if at.node != nil && r.skip[at.node] {
		return
	}
	msg := fmt.Sprintf(format, args...)
	k := fmt.Sprintf("%p\x00%s", at.node, msg)
	if r.seen[k] {
		return
	}
	r.seen[k] = true
	d := r.ds.Errorf(at.node.Pos(), code, "%s", msg)
	d.Pointer = at.ptr
}

// report walks a validation error tree.
func (r *reporter) report(e *jsonschema.ValidationError) {
	switch k := e.ErrorKind.(type) {
	case *kind.Reference:
		if h := semantics[defName(k.URL)]; h != nil {
			at := locate(r.base, e.InstanceLocation)
			if msg := h.message(&at); msg != "" {
				code := Code
				if h.code != nil {
					code = h.code(&at)
				}
				r.errorfCode(at, code, "%s", msg)
				return
			}
		}
	case *kind.PropertyNames:
		r.propertyName(e, k.Property)
		return
	case *kind.OneOf, *kind.AnyOf:
		if len(e.Causes) > 0 {
			r.alternatives(e)
			return
		}
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			r.report(c)
		}
		return
	}
	r.leaf(e)
}

// alternatives reports a value that matched none of a oneOf's branches
// (a target written as a URL or as {url, weight}, a rate limit by name or
// inline). The branch whose type is the value's type is the one the user
// meant, and only its errors are reported; when no branch has that type,
// one message lists what the value may be.
func (r *reporter) alternatives(e *jsonschema.ValidationError) {
	var nouns []string
	for _, c := range e.Causes {
		if t := typeErrorAt(c, e.InstanceLocation); t != nil {
			nouns = append(nouns, branchNoun(c, t))
			continue
		}
		r.report(c)
		return
	}
	at := locate(r.base, e.InstanceLocation)
	r.errorf(at, "%s must be %s, not %s", labelOr(at.label), joinOr(nouns), describe(at.node))
}

// typeErrorAt finds a type mismatch of the value at loc itself in a
// branch's errors.
func typeErrorAt(e *jsonschema.ValidationError, loc []string) *kind.Type {
	if !slices.Equal(e.InstanceLocation, loc) {
		return nil
	}
	if t, ok := e.ErrorKind.(*kind.Type); ok {
		return t
	}
	for _, c := range e.Causes {
		if t := typeErrorAt(c, loc); t != nil {
			return t
		}
	}
	return nil
}

// branchNoun names what a oneOf branch accepts.
func branchNoun(e *jsonschema.ValidationError, t *kind.Type) string {
	if ref, ok := e.ErrorKind.(*kind.Reference); ok {
		if h := semantics[defName(ref.URL)]; h != nil && h.noun != "" {
			return h.noun
		}
	}
	return typeNouns(t.Want)
}

// propertyName reports a map key that is not a valid name (an upstream
// called "my pets", a header "X Tenant").
//
// The validator (jsonschema v6.0.3) gives such errors an instance location
// that later validation overwrites (it keeps a slice it goes on appending
// to), so the objects are found here instead: every object under the
// member the failing propertyNames belongs to (upstreams, set...) that has
// the key. A bad key is bad wherever it is, so each is reported.
func (r *reporter) propertyName(e *jsonschema.ValidationError, name string) {
	member := ""
	if rest, ok := strings.CutSuffix(e.SchemaURL, "/propertyNames"); ok {
		member = spec.UnescapePointerToken(rest[strings.LastIndex(rest, "/")+1:])
	}
	var found []place
	findMembers(locate(r.base, nil), member, name, 0, &found)
	for _, obj := range found {
		r.badKey(e, obj, name)
	}
}

// findMembers appends the places of the objects that are the value of a
// member called member somewhere below p and have the key name.
func findMembers(p place, member, name string, depth int, found *[]place) {
	if depth > maxDepth {
		return
	}
	switch {
	case object(p.node) != nil:
		for _, pair := range p.node.Pairs {
			child := locate(p, []string{pair.Key.Value})
			if pair.Key.Value == member && object(child.node) != nil && child.node.Has(name) {
				*found = append(*found, child)
			}
			findMembers(child, member, name, depth+1, found)
		}
	case array(p.node) != nil:
		for i := range p.node.Elems {
			findMembers(locate(p, []string{strconv.Itoa(i)}), member, name, depth+1, found)
		}
	}
}

func (r *reporter) badKey(e *jsonschema.ValidationError, obj place, name string) {
	at := keyPlace(obj, name)
	at.label = labelOr(obj.label)
	for _, c := range e.Causes {
		if ref, ok := refIn(c); ok {
			if h := semantics[defName(ref.URL)]; h != nil {
				if msg := h.message(&at); msg != "" {
					r.errorf(at, "%s", msg)
					return
				}
			}
		}
	}
	r.errorf(at, "%s: %q is not a valid key", at.label, name)
}

// refIn finds the reference a property-name error went through.
func refIn(e *jsonschema.ValidationError) (*kind.Reference, bool) {
	if ref, ok := e.ErrorKind.(*kind.Reference); ok {
		return ref, true
	}
	for _, c := range e.Causes {
		if ref, ok := refIn(c); ok {
			return ref, true
		}
	}
	return nil, false
}

// leaf reports one keyword's failure.
func (r *reporter) leaf(e *jsonschema.ValidationError) {
	at := locate(r.base, e.InstanceLocation)
	name := labelOr(at.label)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		props := slices.Clone(k.Properties)
		slices.Sort(props)
		for _, p := range props {
			r.unknownKey(at, e.SchemaURL, p)
		}
	case *kind.Required:
		for _, m := range k.Missing {
			r.errorf(at, "%s is required", joinLabel(at.label, m))
		}
	case *kind.Type:
		r.errorf(at, "%s must be %s, not %s", name, typeNouns(k.Want), describe(at.node))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		msg := fmt.Sprintf("%s must be one of %s, not %s", name, strings.Join(want, ", "), describe(at.node))
		if s, ok := k.Got.(string); ok {
			msg += didYouMean(spec.Suggest(s, want))
		}
		r.errorf(at, "%s", msg)
	case *kind.MinItems:
		if k.Want == 1 {
			r.errorf(at, "%s must not be empty", name)
		} else {
			r.errorf(at, "%s must have at least %d entries", name, k.Want)
		}
	case *kind.MinLength:
		r.errorf(at, "%s must not be empty", name)
	case *kind.Minimum:
		r.errorf(at, "%s must be ≥ %s, not %s", name, ratString(k.Want), describe(at.node))
	case *kind.Maximum:
		r.errorf(at, "%s must be ≤ %s, not %s", name, ratString(k.Want), describe(at.node))
	default:
		r.errorf(at, "%s: %s", name, k.LocalizedString(r.schema.printer))
	}
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(3)
}

// Keys that belong to a level other than the one they were written at get
// a message saying where they go rather than a spelling suggestion.
var (
	rootOnlyKeys = []string{"upstreams", "rate_limits", "authorizers", "trusted_proxies", "store", "defaults"}
	notDefaults  = []string{"path", "aggregate"}
	rootOrPolicy = []string{"cors", "ip"}
)

// unknownKey reports a key the schema does not allow in the object at obj,
// whose schema is at schemaLoc.
func (r *reporter) unknownKey(obj place, schemaLoc, key string) {
	at := keyPlace(obj, key)
	top := obj.label == "" || (r.level == levelRoot && obj.label == "defaults")
	if top {
		lv := r.level
		if obj.label == "defaults" {
			lv = levelDefaults
		}
		if msg := misplaced(r.schema, lv, key); msg != "" {
			r.errorf(at, "%s", msg)
			return
		}
	}
	allowed := r.schema.propertiesAt(schemaLoc)
	r.errorf(at, "unknown key %q in %s%s", key, labelOr(obj.label), didYouMean(spec.Suggest(key, allowed)))
}

// misplaced explains a key that is valid at another level, or returns "".
func misplaced(s *schemaSet, lv level, key string) string {
	inRoot := slices.Contains(s.keys[levelRoot], key)
	inPolicy := slices.Contains(s.keys[levelPolicy], key)
	inScheme := slices.Contains(s.keys[levelScheme], key)
	switch lv {
	case levelRoot:
		switch {
		case inPolicy:
			return fmt.Sprintf("%s is not read at the top of the root x-gateway: defaults for every operation go under defaults (defaults.%s)", key, key)
		case inScheme:
			return fmt.Sprintf("%s belongs in the x-gateway of a security scheme (components.securitySchemes.NAME)", key)
		}
	case levelDefaults:
		switch {
		case slices.Contains(notDefaults, key):
			return fmt.Sprintf("%s cannot be a default: set it on a path item or an operation", key)
		case slices.Contains(rootOrPolicy, key):
			return fmt.Sprintf("%s cannot be a default: set it at the top of the root x-gateway, or on a path item or an operation", key)
		case inRoot:
			return fmt.Sprintf("%s belongs at the top of the root x-gateway, not under defaults", key)
		case inScheme:
			return fmt.Sprintf("%s belongs in the x-gateway of a security scheme (components.securitySchemes.NAME)", key)
		}
	case levelPolicy:
		switch {
		case slices.Contains(rootOnlyKeys, key):
			return fmt.Sprintf("%s is only read in the root x-gateway, not on a path item or an operation", key)
		case inScheme:
			return fmt.Sprintf("%s belongs in the x-gateway of a security scheme (components.securitySchemes.NAME)", key)
		}
	case levelScheme:
		switch {
		case inRoot || inPolicy:
			return fmt.Sprintf("%s is not read in a security scheme's x-gateway: set it in the x-gateway of the root, a path item or an operation", key)
		}
	}
	return ""
}

// semantic is how messages speak of one of the schema's value syntaxes
// ($defs entries such as duration or secretRef): one message for whatever
// is wrong with such a value, instead of the validator's pattern and format
// failures.
type semantic struct {
	// noun names the syntax when a value may be it or something else.
	noun    string
	message func(at *place) string
	// code, when set, is the diagnostic code of the finding at a place, if
	// it is not Code.
	code func(at *place) string
}

var semantics = map[string]*semantic{
	"duration":            {noun: `a duration such as "5s"`, message: durationMessage},
	"size":                {message: sizeMessage},
	"secretRef":           {noun: "a secret reference (env:NAME or file:PATH)", message: secretMessage, code: secretCode},
	"name":                {noun: "a name", message: nameMessage},
	"httpURL":             {noun: `a URL such as "http://10.0.0.1:8080"`, message: func(at *place) string { return urlMessage(at, false) }},
	"httpsURL":            {noun: `an https URL`, message: func(at *place) string { return urlMessage(at, true) }},
	"upstreamPath":        {noun: "a path", message: pathMessage},
	"urlPath":             {noun: "a path", message: pathMessage},
	"cidr":                {noun: "an IP address or CIDR", message: networkMessage},
	"origin":              {noun: "an origin", message: originMessage},
	"credentialedOrigins": {message: credentialsMessage},
	"headerName":          {noun: "a header name", message: headerNameMessage},
	"template":            {noun: "a header value", message: templateMessage},
	"rateLimitKey":        {message: rateLimitKeyMessage},
	"retryOn":             {message: retryOnMessage},
	"positiveInt":         {noun: "an integer ≥ 1", message: func(at *place) string { return intMessage(at, 1) }},
	"nonNegativeInt":      {noun: "an integer ≥ 0", message: func(at *place) string { return intMessage(at, 0) }},
}

func durationMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		return fmt.Sprintf("%s must be a duration such as \"5s\" or \"1m30s\", not %s", name, describe(at.node))
	}
	if d, err := time.ParseDuration(s); err == nil && d <= 0 {
		return fmt.Sprintf("%s must be a positive duration, not %q", name, s)
	}
	return fmt.Sprintf("%s: %q is not a duration (use Go syntax such as \"5s\" or \"1m30s\")", name, s)
}

func sizeMessage(at *place) string {
	name := labelOr(at.label)
	n := at.node
	switch n.Kind {
	case spec.Number:
		if _, ok := n.Int(); !ok {
			return fmt.Sprintf("%s must be a whole number of bytes, not %s", name, n.Value)
		}
		return fmt.Sprintf("%s must not be negative, not %s", name, n.Value)
	case spec.String:
		if _, err := parseSize(n.Value); err != nil && err.Error() == "too large" {
			return fmt.Sprintf("%s: %q is too large", name, n.Value)
		}
		if h := sizeHint(n.Value); h != "" {
			return fmt.Sprintf("%s: %q is not a size (did you mean %q?)", name, n.Value, h)
		}
		return fmt.Sprintf("%s: %q is not a size (use a number of bytes, or a string such as \"512KB\" or \"1MiB\")", name, n.Value)
	}
	return fmt.Sprintf("%s must be a size such as 1048576, \"512KB\" or \"1MiB\", not %s", name, describe(n))
}

// CodeLiteralSecret marks a literal where a secret reference is required:
// a secret written into the spec, which goes wherever the spec goes.
const CodeLiteralSecret = "gwc-literal-secret"

// secretCode is CodeLiteralSecret for a value that is not even trying to
// be a reference; a malformed env: or file: reference is Code's.
func secretCode(at *place) string {
	if s, ok := at.node.Str(); ok && (strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:")) {
		return Code
	}
	return CodeLiteralSecret
}

func secretMessage(at *place) string {
	name := labelOr(at.label)
	n := at.node
	if s, ok := n.Str(); ok {
		switch {
		case strings.HasPrefix(s, "env:"):
			return fmt.Sprintf("%s: %s is not a valid reference (env:NAME needs a variable name of letters, digits and \"_\", not starting with a digit)", name, diag.Mask(s))
		case s == "file:":
			return fmt.Sprintf("%s: file: needs a path (file:PATH)", name)
		}
	}
	var lit string
	switch n.Kind {
	case spec.String, spec.Number, spec.Bool:
		lit = "a literal (" + secretLiteral(n.Value) + ")"
	default:
		lit = describe(n)
	}
	return fmt.Sprintf("%s must be a secret reference (env:NAME or file:PATH), not %s", name, lit)
}

func nameMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		return fmt.Sprintf("%s must be a name, not %s", name, describe(at.node))
	}
	return fmt.Sprintf("%s: %q is not a valid name (use letters, digits, \"_\", \".\" and \"-\", starting with a letter or digit)", name, s)
}

func urlMessage(at *place, httpsOnly bool) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		if httpsOnly {
			return fmt.Sprintf("%s must be an https URL, not %s", name, describe(at.node))
		}
		return fmt.Sprintf("%s must be a URL such as \"http://10.0.0.1:8080\", not %s", name, describe(at.node))
	}
	// Never repeat a password, a query's token or a fragment.
	shown := diag.MaskURL(s)
	if !strings.Contains(s, "://") {
		return fmt.Sprintf("%s: %s has no scheme (write %s)", name, shown, diag.MaskURL("http://"+s))
	}
	err := checkHTTPURL(s, httpsOnly)
	if err == nil {
		return fmt.Sprintf("%s: %s is not a valid URL (use http(s)://host[:port][/path])", name, shown)
	}
	return fmt.Sprintf("%s: %s %v", name, shown, err)
}

func pathMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	switch {
	case !ok:
		return fmt.Sprintf("%s must be a path starting with \"/\", not %s", name, describe(at.node))
	case !strings.HasPrefix(s, "/"):
		return fmt.Sprintf("%s must start with \"/\", not %q", name, s)
	}
	return fmt.Sprintf("%s: %q has a malformed {parameter} (use {name} with letters, digits, \"_\", \".\" or \"-\")", name, s)
}

func networkMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		return fmt.Sprintf("%s must be an IP address or CIDR, not %s", name, describe(at.node))
	}
	return fmt.Sprintf("%s: %q is not an IP address or CIDR (such as \"10.0.0.0/8\")", name, s)
}

func originMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		return fmt.Sprintf("%s must be an origin, not %s", name, describe(at.node))
	}
	why := "is not an origin"
	if err := checkOrigin(s); err != nil {
		why = err.Error()
	}
	return fmt.Sprintf("%s: %q %s (use an origin such as \"https://app.example.com\", \"https://*.example.com\" or \"*\")", name, s, why)
}

// credentialsMessage reports "*" in allow_origins with credentials, placed
// at the "*" itself.
func credentialsMessage(at *place) string {
	if at.node != nil {
		for i, e := range at.node.Elems {
			if s, _ := e.Deref().Str(); s == "*" {
				at.node, at.ptr = follow(e, at.ptr+"/"+strconv.Itoa(i))
				break
			}
		}
	}
	return fmt.Sprintf("%s: \"*\" cannot be used with allow_credentials: true (browsers refuse it; list the origins instead)", labelOr(at.label))
}

func headerNameMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		return fmt.Sprintf("%s must be a header name, not %s", name, describe(at.node))
	}
	return fmt.Sprintf("%s: %q is not a valid header name", name, s)
}

func templateMessage(at *place) string {
	name := labelOr(at.label)
	s, ok := at.node.Str()
	if !ok {
		if at.node != nil && (at.node.Kind == spec.Number || at.node.Kind == spec.Bool) {
			return fmt.Sprintf("%s must be a string, not %s (quote it: \"%s\")", name, at.node.Value, at.node.Value)
		}
		return fmt.Sprintf("%s must be a string, not %s", name, describe(at.node))
	}
	te := checkTemplate(s)
	switch {
	case te == nil:
		return fmt.Sprintf("%s: %s is not a valid header value", name, diag.Mask(s))
	case te.placeholder == "}":
		return fmt.Sprintf("%s: \"}\" is not part of a placeholder (braces are only for placeholders)", name)
	case te.unclosed:
		return fmt.Sprintf("%s: %q is not closed with \"}\"", name, te.placeholder)
	case te.suggestion != "":
		return fmt.Sprintf("unknown placeholder %q in %s (did you mean %q?)", te.placeholder, name, te.suggestion)
	}
	return fmt.Sprintf("unknown placeholder %q in %s (use %s)", te.placeholder, name, placeholderHelp)
}

func rateLimitKeyMessage(at *place) string {
	name := labelOr(at.label)
	msg := fmt.Sprintf("%s must be ip, client, header:NAME or claim:NAME, not %s", name, describe(at.node))
	if s, ok := at.node.Str(); ok {
		prefix, _, hasColon := strings.Cut(s, ":")
		switch {
		case hasColon:
			if p := spec.Suggest(prefix, []string{"header", "claim"}); p != "" && p != prefix {
				msg += didYouMean(p + ":" + strings.TrimPrefix(s, prefix+":"))
			}
		default:
			msg += didYouMean(spec.Suggest(s, []string{"ip", "client"}))
		}
	}
	return msg
}

func retryOnMessage(at *place) string {
	name := labelOr(at.label)
	msg := fmt.Sprintf("%s must be connect-error, timeout or an HTTP status from 500 to 599, not %s", name, describe(at.node))
	if s, ok := at.node.Str(); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 500 && n <= 599 {
			return msg + fmt.Sprintf(" (write the status as a number: %d)", n)
		}
		msg += didYouMean(spec.Suggest(s, []string{"connect-error", "timeout"}))
	}
	return msg
}

func intMessage(at *place, least int) string {
	return fmt.Sprintf("%s must be an integer ≥ %d, not %s", labelOr(at.label), least, describe(at.node))
}

func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", s)
}

// describe is a value as messages show it.
func describe(n *spec.Node) string {
	return n.Describe()
}

// typeNouns names JSON types for people: "an object", "a string or an array".
func typeNouns(types []string) string {
	nouns := make([]string, len(types))
	for i, t := range types {
		switch t {
		case "object":
			nouns[i] = "an object"
		case "array":
			nouns[i] = "an array"
		case "integer":
			nouns[i] = "an integer"
		case "boolean":
			nouns[i] = "true or false"
		case "null":
			nouns[i] = "null"
		default:
			nouns[i] = "a " + t
		}
	}
	return joinOr(nouns)
}

func joinOr(words []string) string {
	switch len(words) {
	case 0:
		return "something else"
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
