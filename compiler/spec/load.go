package spec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gwcdev/gwc/compiler/diag"
)

// Document is a loaded OpenAPI document: its entry file and every file its
// `$ref`s reach, with those references resolved.
type Document struct {
	Root *Node
	// Files holds the entry file first, then the files it references, in the
	// order the loader reached them.
	Files []*File
	// OpenAPI is the document's `openapi` version string.
	OpenAPI string
	// Refused is set when a file of the spec passed one of the loader's
	// limits (a diagnostic says which, where): Root is then nil, and no
	// stage may go on with the spec.
	Refused bool
	// NonStandardRefs lists `$ref`s found where OpenAPI allows none (whole
	// operations, descriptions, `properties` maps: Redocly-style trees). The
	// loader resolves them like any other so such trees load; lint warns.
	NonStandardRefs []*Node
}

// Is31 reports whether the document is OpenAPI 3.1 or later.
func (d *Document) Is31() bool {
	return strings.HasPrefix(d.OpenAPI, "3.") && !strings.HasPrefix(d.OpenAPI, "3.0")
}

// FileByPath returns the loaded file with path p.
func (d *Document) FileByPath(p string) *File {
	for _, f := range d.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

// Loader loads documents. Its zero value reads from the operating system,
// within the spec's folder and the default limits.
//
// A spec may come from anyone (gwc lint runs on pull requests), so the
// loader reads only regular files below Root, each of at most MaxFileBytes
// and all of them together at most MaxTotalBytes; it never fetches remote
// references. A file passing a size limit, or whose YAML aliases expand past
// MaxExpandedValues or MaxExpandedBytes, makes the whole spec refused
// (Document.Refused): nothing of it is checked further.
type Loader struct {
	// ReadFile reads a file; nil means the operating system, through an
	// os.Root on Root. The limits and the confinement to Root apply to
	// what it returns too.
	ReadFile func(path string) ([]byte, error)
	// Root is the folder whose tree files are read from; "" means the entry
	// file's folder.
	Root string
	// MaxFileBytes and MaxTotalBytes are the size limits; 0 means
	// DefaultMaxFileBytes and DefaultMaxTotalBytes.
	MaxFileBytes, MaxTotalBytes int64
}

// Load reads the OpenAPI document at path and every file it references. The
// error is for the entry file itself not being readable (an I/O problem, or
// a refusal wrapping ErrRefused); everything wrong with the content is in
// the diagnostics.
func Load(path string) (*Document, diag.Diagnostics, error) {
	return (&Loader{}).Load(path)
}

// Load is like the package-level Load.
func (l *Loader) Load(entry string) (*Document, diag.Diagnostics, error) {
	return l.LoadContext(context.Background(), entry)
}

// LoadContext is Load, stopping early with ctx's error when ctx is done.
func (l *Loader) LoadContext(ctx context.Context, entry string) (*Document, diag.Diagnostics, error) {
	files, err := newFiles(l, entry)
	if err != nil {
		return nil, nil, err
	}
	defer files.close()
	data, err := files.get(entry)
	if err != nil {
		return nil, nil, err
	}
	return l.load(ctx, entry, data, files)
}

// LoadData loads a document whose entry file has the given content; files
// it references are read with l.ReadFile (none when that is nil).
func (l *Loader) LoadData(entry string, data []byte) (*Document, diag.Diagnostics) {
	c := *l
	if c.ReadFile == nil {
		c.ReadFile = func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	}
	files, err := newFiles(&c, entry)
	if err != nil {
		var ds diag.Diagnostics
		ds.Errorf(diag.Pos{File: entry}, CodeIO, "%v", err)
		return &Document{}, ds
	}
	if int64(len(data)) > files.maxFile {
		var ds diag.Diagnostics
		ds.Errorf(diag.Pos{File: entry, Line: 1, Col: 1}, CodeLimit, "%v", files.tooLarge(entry, int64(len(data))))
		return &Document{Refused: true, Files: []*File{{Path: entry, Name: filepath.Base(entry), OverLimit: true}}}, ds
	}
	files.total.Add(int64(len(data)))
	doc, ds, _ := l.load(context.Background(), entry, data, files)
	return doc, ds
}

func (l *Loader) load(ctx context.Context, entry string, data []byte, files *files) (*Document, diag.Diagnostics, error) {
	r := &resolver{
		ctx:       ctx,
		files:     files,
		baseDir:   filepath.Dir(entry),
		entries:   map[string]*fileEntry{},
		walked:    map[walkKey]bool{},
		broken:    map[*Node]bool{},
		resolving: map[*Node]bool{},
	}
	root := r.addParsed(entry, data)
	doc := &Document{}
	r.doc = doc
	ds := root.diags
	doc.Files = []*File{root.file}
	if root.file.Root == nil {
		doc.Refused = root.file.OverLimit
		return doc, ds, ctx.Err()
	}
	doc.Root = root.file.Root
	ds = append(ds, checkVersion(doc)...)
	if ds.HasErrors() {
		return doc, ds, nil
	}
	r.prefetch(root.file)
	r.walkDocument(doc.Root)
	r.stop.Store(true)
	r.wg.Wait()
	ds = append(ds, r.diags...)
	if r.refused {
		// A file past a limit: the document is incomplete in a way no one
		// should work around, so nothing reads it further.
		doc.Root, doc.Refused = nil, true
	}
	return doc, ds, ctx.Err()
}

// CodeLimit is the code of a file refused for passing one of the loader's
// size limits.
const CodeLimit = "gwc-limit"

var versionRE = regexp.MustCompile(`^3\.[01]\.\d+(-.+)?$`)

func checkVersion(doc *Document) diag.Diagnostics {
	var ds diag.Diagnostics
	root := doc.Root
	if root.Kind != Object {
		ds.Errorf(root.Pos(), CodeSyntax, "an OpenAPI document must be an object, not %s", root.Kind)
		return ds
	}
	if sw := root.Get("swagger"); sw != nil {
		ds.Errorf(sw.Pos(), CodeVersion, "Swagger %s is not supported: convert the spec to OpenAPI 3.0 or 3.1", sw.Value)
		return ds
	}
	v := root.Get("openapi")
	if v == nil {
		ds.Errorf(root.Pos(), CodeVersion, "not an OpenAPI document: there is no `openapi` version field")
		return ds
	}
	if v.Kind != String {
		ds.Errorf(v.Pos(), CodeVersion, "`openapi` must be a version string such as \"3.1.0\", not %s", v.Describe())
		return ds
	}
	if !versionRE.MatchString(v.Value) {
		ds.Errorf(v.Pos(), CodeVersion, "OpenAPI version %q is not supported: gwc reads 3.0.x and 3.1.x", v.Value)
		return ds
	}
	doc.OpenAPI = v.Value
	return ds
}

// CodeVersion is the code of diagnostics about the `openapi` field.
const CodeVersion = "gwc-openapi-version"

type fileEntry struct {
	file  *File
	diags diag.Diagnostics
	err   error // reading failed
	ready chan struct{}
	// reported is set once the file's diagnostics were added, so that a
	// file reached by many references is reported once.
	reported bool
}

type walkKey struct {
	n    *Node
	kind walkKind
}

type resolver struct {
	ctx     context.Context
	files   *files
	baseDir string
	doc     *Document
	steps   int  // walk steps, to look at ctx now and then
	done    bool // ctx is done: the walk stops
	refused bool // a file passed a limit

	mu      sync.Mutex
	entries map[string]*fileEntry
	sem     chan struct{}
	wg      sync.WaitGroup
	stop    atomic.Bool // the walk is over: prefetching files is pointless

	walked    map[walkKey]bool
	broken    map[*Node]bool // references in a cycle
	resolving map[*Node]bool // references whose target is being looked up
	diags     diag.Diagnostics
}

func (r *resolver) addParsed(p string, data []byte) *fileEntry {
	f, ds := parse(r.ctx, p, data)
	f.Name = r.name(p)
	e := &fileEntry{file: f, diags: ds, ready: make(chan struct{}), reported: true}
	close(e.ready)
	r.entries[filepath.Clean(p)] = e
	return e
}

func (r *resolver) name(p string) string {
	rel, err := filepath.Rel(r.baseDir, p)
	if err != nil {
		rel = p
	}
	return filepath.ToSlash(rel)
}

// prefetch starts parsing, in the background, every file that f's `$ref`s
// name, and so on transitively, so that a tree of thousands of files is parsed
// on every core. Which of them the document really reaches (and which errors
// count) is decided by the walk, which waits for the file it needs.
func (r *resolver) prefetch(f *File) {
	if r.sem == nil {
		r.sem = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	var refs []string
	c := refCollector{ctx: r.ctx, seen: Visited{}}
	c.collect(f.Root, &refs)
	dir := filepath.Dir(f.Path)
	for _, ref := range refs {
		p, _, err := splitRef(dir, ref)
		if err != nil || p == "" {
			continue
		}
		r.fetch(p)
	}
}

// refCollector gathers the external `$ref`s below a node. YAML aliases make
// the tree a graph whose paths can be exponentially many, so nodes are
// visited once. It gives up when ctx is done.
type refCollector struct {
	ctx     context.Context
	seen    Visited
	visits  int
	stopped bool
}

func (c *refCollector) collect(n *Node, out *[]string) {
	if c.stopped || !c.seen.First(n) {
		return
	}
	if c.visits++; c.visits%4096 == 0 && c.ctx.Err() != nil {
		c.stopped = true
		return
	}
	switch n.Kind {
	case Object:
		for _, p := range n.Pairs {
			if p.Key.Value == "$ref" && p.Value.Kind == String && !strings.HasPrefix(p.Value.Value, "#") {
				*out = append(*out, p.Value.Value)
				continue
			}
			c.collect(p.Value, out)
		}
	case Array:
		for _, e := range n.Elems {
			c.collect(e, out)
		}
	}
}

// fetch returns the entry of file p, starting to read and parse it if no one
// has yet.
func (r *resolver) fetch(p string) *fileEntry {
	key := filepath.Clean(p)
	r.mu.Lock()
	e := r.entries[key]
	if e != nil {
		r.mu.Unlock()
		return e
	}
	e = &fileEntry{ready: make(chan struct{})}
	r.entries[key] = e
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.sem <- struct{}{}
		f, ds, err := r.parse(p)
		<-r.sem
		e.file, e.diags, e.err = f, ds, err
		close(e.ready)
		if f != nil && f.Root != nil && !r.stop.Load() && r.ctx.Err() == nil {
			r.prefetch(f)
		}
	}()
	return e
}

func (r *resolver) parse(p string) (*File, diag.Diagnostics, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, nil, err
	}
	data, err := r.files.get(p)
	if err != nil {
		return nil, nil, err
	}
	f, ds := parse(r.ctx, p, data)
	f.Name = r.name(p)
	return f, ds, r.ctx.Err()
}

// splitRef splits a `$ref` value into the file it names (resolved against
// dir; "" for a reference within the same file) and its JSON pointer.
func splitRef(dir, ref string) (file, ptr string, err error) {
	loc, frag, _ := strings.Cut(ref, "#")
	if frag != "" {
		if frag, err = url.PathUnescape(frag); err != nil {
			return "", "", fmt.Errorf("bad escape in fragment: %v", err)
		}
	}
	if loc == "" {
		return "", frag, nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", fmt.Errorf("not a valid URI reference: %v", err)
	}
	switch u.Scheme {
	case "":
	case "file":
		return filepath.FromSlash(u.Path), frag, nil
	default:
		return "", "", fmt.Errorf("remote references are not supported (gwc builds from local files only); download %s and refer to the copy", loc)
	}
	p := filepath.FromSlash(u.Path)
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return p, frag, nil
}

// walkKind is the kind of OpenAPI object a walk step is in: it decides which
// members may hold references and which are literal data (examples, defaults,
// enums), whose "$ref" keys are data and not references.
type walkKind uint8

const (
	kindGeneric walkKind = iota
	kindExtension
	kindPathItem
	kindOperation
	kindParameter
	kindRequestBody
	kindMediaType
	kindResponse
	kindHeader
	kindExample
	kindSchema
	kindCallback
	kindRefAllowed // security schemes, links: objects that may be references
)

var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// deref resolves n if it is a reference, reports it, and returns what it
// points at (n itself when it is not a reference, nil when it cannot be
// resolved). allowed says whether OpenAPI allows a reference here.
func (r *resolver) deref(n *Node, allowed bool, ext bool) *Node {
	var chain []*Node
	for n != nil {
		ref, ok := n.RefString()
		if !ok {
			return n
		}
		if r.broken[n] {
			return nil
		}
		if i := slices.Index(chain, n); i >= 0 {
			r.cycle(chain[i:])
			return nil
		}
		chain = append(chain, n)
		if n.Ref == nil {
			if r.resolving[n] {
				// Its pointer goes through itself: {$ref: "#/a/b"} at /a.
				r.broken[n] = true
				r.diags.Errorf(n.Get("$ref").Pos(), CodeRef, "$ref %q points through itself", ref)
				return nil
			}
			r.resolving[n] = true
			target := r.resolveRef(n, ref, ext)
			delete(r.resolving, n)
			if target == nil {
				return nil
			}
			n.Ref = target
			if !allowed && !ext {
				r.doc.NonStandardRefs = append(r.doc.NonStandardRefs, n)
			}
		}
		n = n.Ref
	}
	return nil
}

// cycle reports references that only lead to each other, once, at the
// first of them in the source, and marks them unresolvable.
func (r *resolver) cycle(members []*Node) {
	first := members[0]
	var names []string
	for _, m := range members {
		r.broken[m] = true
		m.Ref = nil
		if before(m, first) {
			first = m
		}
	}
	start := slices.Index(members, first)
	for i := range members {
		ref, _ := members[(start+i)%len(members)].RefString()
		names = append(names, ref)
	}
	ref, _ := first.RefString()
	names = append(names, ref)
	r.diags.Errorf(first.Get("$ref").Pos(), CodeRef, "$ref cycle: %s (references that only point at each other have no value)", strings.Join(names, " → "))
}

func before(a, b *Node) bool {
	if a.File != b.File {
		return a.File.Path < b.File.Path
	}
	return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col)
}

// resolveRef finds the target of reference node n.
func (r *resolver) resolveRef(n *Node, ref string, ext bool) *Node {
	at := n.Get("$ref").Pos()
	report := r.diags.Errorf
	if ext {
		report = r.diags.Warnf
	}
	dir := filepath.Dir(n.File.Path)
	p, ptr, err := splitRef(dir, ref)
	if err != nil {
		report(at, CodeRef, "$ref %q: %v", ref, err)
		return nil
	}
	if ptr != "" && ptr[0] != '/' {
		report(at, CodeRef, "$ref %q: the fragment must be a JSON pointer starting with \"/\" (anchors are not supported)", ref)
		return nil
	}
	f := n.File
	if p != "" {
		e := r.fetch(p)
		<-e.ready
		if e.err != nil {
			var refused *RefusedError
			switch {
			case errors.As(e.err, &refused) && refused.Limit:
				r.refused = true
				r.diags.Errorf(at, CodeLimit, "$ref %q: %v", ref, e.err)
			case errors.As(e.err, &refused):
				report(at, CodeIO, "$ref %q: %v", ref, e.err)
			case errors.Is(e.err, fs.ErrNotExist):
				report(at, CodeRef, "$ref %q: file %s does not exist", ref, p)
			case r.ctx.Err() != nil:
			default:
				report(at, CodeIO, "$ref %q: %v", ref, e.err)
			}
			return nil
		}
		if !e.reported {
			e.reported = true
			r.diags = append(r.diags, e.diags...)
			r.doc.Files = append(r.doc.Files, e.file)
		}
		if e.file.Root == nil {
			if e.file.OverLimit {
				r.refused = true
			}
			return nil // the syntax error is reported
		}
		f = e.file
	}
	target := r.pointer(f.Root, ptr, at, ref, report)
	if target == nil {
		return nil
	}
	if target == n {
		report(at, CodeRef, "$ref %q refers to itself", ref)
		return nil
	}
	return target
}

// pointer walks ptr from root, resolving references met on the way.
func (r *resolver) pointer(root *Node, ptr string, at diag.Pos, ref string, report func(diag.Pos, string, string, ...any) *diag.Diagnostic) *Node {
	n := root
	if ptr == "" {
		return n
	}
	done := ""
	for _, tok := range strings.Split(ptr[1:], "/") {
		if n.IsRef() {
			n = r.deref(n, true, false)
			if n == nil {
				return nil
			}
		}
		key := UnescapePointerToken(tok)
		var next *Node
		switch n.Kind {
		case Object:
			next = n.Get(key)
		case Array:
			next = n.At("/" + tok)
		}
		if next == nil {
			where := "the document"
			if done != "" {
				where = fmt.Sprintf("%q", done)
			}
			msg := fmt.Sprintf("$ref %q: %s has no member %q", ref, where, key)
			if n.Kind == Object {
				if s := Suggest(key, n.keys()); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
			}
			report(at, CodeRef, "%s", msg)
			return nil
		}
		done += "/" + tok
		n = next
	}
	return n
}

func (n *Node) keys() []string {
	ks := make([]string, len(n.Pairs))
	for i, p := range n.Pairs {
		ks[i] = p.Key.Value
	}
	return ks
}

// walk visits n as an object of the given kind, once.
func (r *resolver) walk(n *Node, kind walkKind, refAllowed bool) {
	if r.stopped() {
		return
	}
	ext := kind == kindExtension
	n = r.deref(n, refAllowed, ext)
	if n == nil || r.walked[walkKey{n, kind}] {
		return
	}
	r.walked[walkKey{n, kind}] = true
	switch kind {
	case kindSchema:
		r.walkSchema(n)
		return
	case kindExample:
		// An Example's `value` is literal data.
		r.members(n, func(k string, v *Node) {
			if k != "value" {
				r.walk(v, r.generic(k), false)
			}
		})
		return
	}
	r.members(n, func(k string, v *Node) {
		switch {
		case kind == kindExtension:
			r.walk(v, kindExtension, false)
		case strings.HasPrefix(k, "x-"):
			r.walk(v, kindExtension, false)
		case k == "example":
			// literal data
		case k == "examples":
			r.eachValue(v, kindExample, true)
		case k == "schema":
			r.walk(v, kindSchema, true)
		case k == "content":
			r.eachValue(v, kindMediaType, false)
		case k == "headers" && (kind == kindResponse || kind == kindGeneric):
			r.eachValue(v, kindHeader, true)
		case k == "encoding" && kind == kindMediaType:
			r.eachValue(v, kindGeneric, false)
		case k == "parameters" && (kind == kindPathItem || kind == kindOperation):
			r.eachElem(v, kindParameter, true)
		case kind == kindPathItem && httpMethods[k]:
			r.walk(v, kindOperation, false)
		case k == "requestBody" && kind == kindOperation:
			r.walk(v, kindRequestBody, true)
		case k == "responses" && kind == kindOperation:
			r.eachValue(v, kindResponse, true)
		case k == "callbacks" && kind == kindOperation:
			r.eachValue(v, kindCallback, true)
		case k == "links" && kind == kindResponse:
			r.eachValue(v, kindRefAllowed, true)
		case kind == kindCallback:
			r.walk(v, kindPathItem, true)
		default:
			r.walk(v, kindGeneric, false)
		}
	})
}

// stopped says whether the walk is to stop: ctx is done, or a file passed a
// limit. It looks at ctx every 1024 steps.
func (r *resolver) stopped() bool {
	if r.done || r.refused {
		return true
	}
	if r.steps++; r.steps%1024 == 0 && r.ctx.Err() != nil {
		r.done = true
	}
	return r.done
}

func (r *resolver) generic(key string) walkKind {
	if strings.HasPrefix(key, "x-") {
		return kindExtension
	}
	return kindGeneric
}

func (r *resolver) members(n *Node, f func(k string, v *Node)) {
	switch n.Kind {
	case Object:
		for _, p := range n.Pairs {
			if p.Key.Value == "$ref" && p.Value.Kind == String {
				continue // a reference's own member (3.1 allows siblings)
			}
			f(p.Key.Value, p.Value)
		}
	case Array:
		for _, e := range n.Elems {
			f("", e)
		}
	}
}

// eachValue walks the values of a map (such as `responses` or `content`),
// resolving the map itself if it is a reference (never standard).
func (r *resolver) eachValue(m *Node, kind walkKind, refAllowed bool) {
	m = r.deref(m, false, false)
	if m == nil || m.Kind != Object {
		return
	}
	for _, p := range m.Pairs {
		if strings.HasPrefix(p.Key.Value, "x-") {
			r.walk(p.Value, kindExtension, false)
			continue
		}
		r.walk(p.Value, kind, refAllowed)
	}
}

func (r *resolver) eachElem(a *Node, kind walkKind, refAllowed bool) {
	a = r.deref(a, false, false)
	if a == nil || a.Kind != Array {
		return
	}
	for _, e := range a.Elems {
		r.walk(e, kind, refAllowed)
	}
}

// Schema keywords whose value is a schema, a map of schemas, or a list of
// schemas; the rest is either literal data or holds no schema.
var (
	schemaKeywords = map[string]bool{
		"items": true, "additionalProperties": true, "not": true, "contains": true,
		"propertyNames": true, "if": true, "then": true, "else": true,
		"unevaluatedItems": true, "unevaluatedProperties": true, "additionalItems": true,
		"contentSchema": true,
	}
	schemaMapKeywords = map[string]bool{
		"properties": true, "patternProperties": true, "$defs": true, "definitions": true,
		"dependentSchemas": true,
	}
	schemaListKeywords = map[string]bool{"allOf": true, "anyOf": true, "oneOf": true, "prefixItems": true}
	literalKeywords    = map[string]bool{"example": true, "examples": true, "default": true, "enum": true, "const": true}
)

func (r *resolver) walkSchema(n *Node) {
	if n.Kind != Object {
		return // true/false schemas, or a type error lint reports
	}
	for _, p := range n.Pairs {
		k, v := p.Key.Value, p.Value
		switch {
		case k == "$ref" && v.Kind == String:
		case literalKeywords[k]:
		case strings.HasPrefix(k, "x-"):
			r.walk(v, kindExtension, false)
		case schemaKeywords[k]:
			if v.Kind == Array { // items as a list, in older drafts
				r.eachElem(v, kindSchema, true)
			} else {
				r.walk(v, kindSchema, true)
			}
		case schemaMapKeywords[k]:
			r.eachValue(v, kindSchema, true)
		case schemaListKeywords[k]:
			r.eachElem(v, kindSchema, true)
		case k == "externalDocs", k == "discriminator", k == "xml":
			r.walk(v, kindGeneric, false)
		}
	}
}

// walkDocument walks the root object: paths, webhooks, components, and the
// rest generically.
func (r *resolver) walkDocument(root *Node) {
	for _, p := range root.Pairs {
		k, v := p.Key.Value, p.Value
		switch {
		case k == "paths" || k == "webhooks":
			r.eachValue(v, kindPathItem, true)
		case k == "components":
			r.walkComponents(v)
		case strings.HasPrefix(k, "x-"):
			r.walk(v, kindExtension, false)
		default:
			r.walk(v, kindGeneric, false)
		}
	}
}

var componentKinds = map[string]walkKind{
	"schemas":         kindSchema,
	"responses":       kindResponse,
	"parameters":      kindParameter,
	"examples":        kindExample,
	"requestBodies":   kindRequestBody,
	"headers":         kindHeader,
	"securitySchemes": kindRefAllowed,
	"links":           kindRefAllowed,
	"callbacks":       kindCallback,
	"pathItems":       kindPathItem,
}

func (r *resolver) walkComponents(c *Node) {
	c = r.deref(c, false, false)
	if c == nil || c.Kind != Object {
		return
	}
	for _, p := range c.Pairs {
		if kind, ok := componentKinds[p.Key.Value]; ok {
			r.eachValue(p.Value, kind, true)
		} else {
			r.walk(p.Value, r.generic(p.Key.Value), false)
		}
	}
}
