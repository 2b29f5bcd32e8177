package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/gwcdev/gwc/compiler/diag"
)

// Parse parses one YAML or JSON file (JSON is parsed as the YAML it is) into
// a Node tree. Syntax errors and values JSON cannot represent are returned as
// diagnostics positioned in the file; the tree is nil when the file could not
// be parsed at all.
func Parse(path string, data []byte) (*File, diag.Diagnostics) {
	return parse(context.Background(), path, data)
}

// parse is Parse, giving up (with a nil tree and no diagnostics) when ctx is
// done while the tree is built.
func parse(ctx context.Context, path string, data []byte) (*File, diag.Diagnostics) {
	f := &File{Path: path, Data: data}
	var ds diag.Diagnostics
	if !utf8.Valid(data) {
		line, col := offsetPos(data, invalidUTF8Offset(data))
		ds.Errorf(diag.Pos{File: path, Line: line, Col: col}, CodeSyntax, "file is not valid UTF-8")
		return f, ds
	}
	doc, err := unmarshal(ctx, data)
	if ctx.Err() != nil {
		return f, nil
	}
	if err != nil {
		ds = append(ds, syntaxDiagnostic(path, data, err))
		return f, ds
	}
	p := &converter{ctx: ctx, file: f, done: map[*yaml.Node]*Node{}, busy: map[*yaml.Node]bool{}, loc: &locator{data: data}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		f.Root = p.convert(doc.Content[0])
		if p.stopped {
			f.Root = nil
			return f, nil
		}
		if p.checkExpansion(f.Root) {
			// Nothing may read a tree that big: the file is refused whole,
			// as if it did not parse.
			f.Root, f.OverLimit = nil, true
		}
	} else {
		f.Root = &Node{Kind: Null, File: f, Line: 1, Col: 1}
	}
	return f, append(ds, p.diags...)
}

// unmarshal parses data as YAML. The parser cannot be interrupted, and a
// file of the largest size allowed takes it seconds: when ctx can be
// cancelled it parses in a goroutine, left to finish alone (its work is
// bounded by the file's size) if ctx is done first.
func unmarshal(ctx context.Context, data []byte) (*yaml.Node, error) {
	if ctx.Done() == nil {
		var doc yaml.Node
		return &doc, yaml.Unmarshal(data, &doc)
	}
	type result struct {
		doc *yaml.Node
		err error
	}
	done := make(chan result, 1)
	go func() {
		var doc yaml.Node
		var err error
		defer func() {
			// A panic here would end the process, out of reach of the
			// caller's recover: it becomes the parse's error.
			if v := recover(); v != nil {
				err = fmt.Errorf("the YAML parser failed on this file (%v); please report it with the file", v)
			}
			done <- result{&doc, err}
		}()
		err = yaml.Unmarshal(data, &doc)
	}()
	select {
	case r := <-done:
		return r.doc, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// MaxExpandedValues and MaxExpandedBytes bound a document once its YAML
// aliases are expanded. The tree shares an anchor's node among its aliases,
// but what reads it as JSON (a bundle, a policy's input, a rule walking it)
// sees every copy: ten nested aliases of ten make 10^10 values from a few
// lines (the "billion laughs"), and a long string aliased a thousand times
// is a thousand long strings. The largest real specs hold a few hundred
// thousand values and a few megabytes of text.
const (
	MaxExpandedValues = 4_000_000
	MaxExpandedBytes  = 128 << 20
)

// expansion is how much a node stands for with its aliases expanded: values
// and the bytes of their keys and scalars, each saturating just above its
// bound.
type expansion struct{ values, bytes int64 }

func (e expansion) add(o expansion) expansion {
	return expansion{min(e.values+o.values, MaxExpandedValues+1), min(e.bytes+o.bytes, MaxExpandedBytes+1)}
}

func (e expansion) over() bool { return e.values > MaxExpandedValues || e.bytes > MaxExpandedBytes }

// checkExpansion reports a document whose aliases expand it beyond the
// bounds, at the alias that stands for the most, and says whether it did.
func (p *converter) checkExpansion(root *Node) bool {
	if len(p.aliases) == 0 {
		return false
	}
	sizes := map[*Node]expansion{}
	total := expandedSize(root, sizes)
	if !total.over() {
		return false
	}
	byValues := total.values > MaxExpandedValues
	weight := func(a aliasUse) int64 {
		if byValues {
			return sizes[a.target].values
		}
		return sizes[a.target].bytes
	}
	worst := p.aliases[0]
	for _, a := range p.aliases[1:] {
		if weight(a) > weight(worst) {
			worst = a
		}
	}
	w := weight(worst)
	var bound, alone string
	switch {
	case byValues && w > MaxExpandedValues:
		bound, alone = fmt.Sprintf("%d values", MaxExpandedValues), "more than that alone"
	case byValues:
		bound, alone = fmt.Sprintf("%d values", MaxExpandedValues), fmt.Sprintf("%d values", w)
	case w > MaxExpandedBytes:
		bound, alone = fmt.Sprintf("%d MB", MaxExpandedBytes>>20), "more than that alone"
	default:
		bound, alone = fmt.Sprintf("%d MB", MaxExpandedBytes>>20), fmt.Sprintf("%.1f MB", float64(w)/(1<<20))
	}
	p.diags.Errorf(p.pos(worst.alias), CodeSyntax,
		"YAML aliases expand the document to more than %s (*%s stands for %s); write the repeated part once and refer to it with $ref",
		bound, worst.alias.Value, alone)
	return true
}

// expandedSize is what n stands for, with every shared node counted where
// it is used.
func expandedSize(n *Node, sizes map[*Node]expansion) expansion {
	if s, ok := sizes[n]; ok {
		return s
	}
	s := expansion{1, int64(len(n.Value))}
	for _, e := range n.Elems {
		s = s.add(expandedSize(e, sizes))
	}
	for _, pr := range n.Pairs {
		s = s.add(expansion{0, int64(len(pr.Key.Value))}).add(expandedSize(pr.Value, sizes))
	}
	sizes[n] = s
	return s
}

// Diagnostic codes of the spec package.
const (
	CodeSyntax = "gwc-syntax" // the file is not valid YAML or JSON
	CodeRef    = "gwc-ref"    // a $ref cannot be resolved
	CodeIO     = "gwc-io"     // a referenced file cannot be read
)

type converter struct {
	ctx     context.Context
	nodes   int  // converted, to look at ctx now and then
	stopped bool // ctx is done: the rest is converted to nulls
	file    *File
	done    map[*yaml.Node]*Node // anchors already converted, so aliases share them
	busy    map[*yaml.Node]bool  // anchors being converted: an alias to one is a cycle
	// aliases are the aliases met, with the node each stands for.
	aliases []aliasUse
	diags   diag.Diagnostics
	// loc finds where nodes end in the text; last is the furthest end of the
	// nodes converted so far below the collection being converted.
	loc  *locator
	last mark
}

// setEnd records the end of n and pushes the collection's furthest end.
func (p *converter) setEnd(n *Node, m mark) {
	n.EndLine, n.EndCol = m.line, m.col
	p.reach(m)
}

func (p *converter) reach(m mark) {
	if p.last.before(m) {
		p.last = m
	}
}

type aliasUse struct {
	alias  *yaml.Node
	target *Node
}

func (p *converter) pos(y *yaml.Node) diag.Pos {
	return diag.Pos{File: p.file.Path, Line: y.Line, Col: y.Column}
}

func (p *converter) convert(y *yaml.Node) *Node {
	if p.nodes++; p.nodes%4096 == 0 && p.ctx.Err() != nil {
		p.stopped = true
	}
	if p.stopped {
		return &Node{Kind: Null, File: p.file, Line: int32(y.Line), Col: int32(y.Column)}
	}
	if y.Kind == yaml.AliasNode {
		target := y.Alias
		if target == nil {
			p.diags.Errorf(p.pos(y), CodeSyntax, "unknown alias %q", y.Value)
			return &Node{Kind: Null, File: p.file, Line: int32(y.Line), Col: int32(y.Column)}
		}
		if p.busy[target] {
			p.diags.Errorf(p.pos(y), CodeSyntax, "alias *%s refers to the node that contains it", target.Anchor)
			return &Node{Kind: Null, File: p.file, Line: int32(y.Line), Col: int32(y.Column)}
		}
		n := p.done[target]
		if n == nil {
			outer := p.last
			n = p.convert(target)
			p.last = outer
		}
		n.Shared = true
		p.aliases = append(p.aliases, aliasUse{alias: y, target: n})
		p.reach(p.loc.aliasEnd(y))
		return n
	}
	n := &Node{File: p.file, Line: int32(y.Line), Col: int32(y.Column)}
	switch y.Kind {
	case yaml.ScalarNode:
		defer func() { p.setEnd(n, p.loc.scalarEnd(y)) }()
	case yaml.SequenceNode, yaml.MappingNode:
		outer := p.last
		p.last = p.loc.at(y.Line, y.Column)
		defer func() {
			end := p.last
			if y.Style&yaml.FlowStyle != 0 {
				closer := byte('}')
				if y.Kind == yaml.SequenceNode {
					closer = ']'
				}
				from := end
				if len(y.Content) == 0 {
					from = p.loc.next(p.loc.skipProperties(end)) // past the opening bracket
				}
				end = p.loc.flowEnd(from, closer)
			}
			p.last = outer
			p.setEnd(n, end)
		}()
	}
	if y.Anchor != "" {
		p.busy[y] = true
		defer func() { delete(p.busy, y); p.done[y] = n }()
	}
	switch y.Kind {
	case yaml.ScalarNode:
		p.scalar(n, y)
	case yaml.SequenceNode:
		n.Kind = Array
		n.Elems = make([]*Node, 0, len(y.Content))
		for _, c := range y.Content {
			n.Elems = append(n.Elems, p.convert(c))
		}
	case yaml.MappingNode:
		n.Kind = Object
		p.mapping(n, y)
	default:
		n.Kind = Null
	}
	return n
}

// smallMapping is the most members a mapping has for its duplicate keys to
// be found by a linear search.
const smallMapping = 16

func (p *converter) mapping(n *Node, y *yaml.Node) {
	n.Pairs = make([]Pair, 0, len(y.Content)/2)
	var merges []*yaml.Node
	// Duplicate keys: a linear search of the members so far, and a map
	// only for a large mapping (most have a few members, and a map each
	// is most of the cost of a large spec's load).
	var seen map[string]*Node
	if len(y.Content)/2 > smallMapping {
		seen = make(map[string]*Node, len(y.Content)/2)
	}
	find := func(key string) *Node {
		if seen != nil {
			return seen[key]
		}
		for _, pr := range n.Pairs {
			if pr.Key.Value == key {
				return pr.Key
			}
		}
		return nil
	}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			p.diags.Errorf(p.pos(k), CodeSyntax, "object keys must be strings, not a YAML %s", yamlKindName(k.Kind))
			continue
		}
		key := &Node{Kind: String, Value: k.Value, File: p.file, Line: int32(k.Line), Col: int32(k.Column)}
		p.setEnd(key, p.loc.scalarEnd(k))
		if first := find(k.Value); first != nil {
			p.diags.Errorf(p.pos(k), CodeSyntax, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		if seen != nil {
			seen[k.Value] = key
		}
		n.Pairs = append(n.Pairs, Pair{Key: key, Value: p.convert(v)})
	}
	// YAML merge keys (<<: *base) add the members the mapping does not set itself.
	for _, m := range merges {
		var sources []*yaml.Node
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		} else {
			sources = []*yaml.Node{m}
		}
		for _, s := range sources {
			merged := p.convert(s)
			if merged.Kind != Object {
				p.diags.Errorf(p.pos(s), CodeSyntax, "merge key << needs a mapping, not %s", merged.Kind)
				continue
			}
			for _, pr := range merged.Pairs {
				if find(pr.Key.Value) == nil {
					if seen != nil {
						seen[pr.Key.Value] = pr.Key
					}
					// The member is the merged mapping's too: reached twice.
					pr.Key.Shared = true
					if pr.Value != nil {
						pr.Value.Shared = true
					}
					n.Pairs = append(n.Pairs, pr)
				}
			}
		}
	}
}

func (p *converter) scalar(n *Node, y *yaml.Node) {
	switch y.ShortTag() {
	case "!!null":
		n.Kind = Null
	case "!!bool":
		n.Kind = Bool
		if b, err := strconv.ParseBool(strings.ToLower(y.Value)); err == nil && b {
			n.Value = "true"
		} else {
			n.Value = "false"
		}
	case "!!int":
		n.Kind = Number
		n.Value = canonicalInt(y.Value)
		if n.Value == "" {
			n.Kind = String
			n.Value = y.Value
		}
	case "!!float":
		n.Kind = Number
		v, ok := canonicalFloat(y.Value)
		if !ok {
			p.diags.Errorf(p.pos(y), CodeSyntax, "%s is not a number JSON can represent", y.Value)
			n.Kind = String
			v = y.Value
		}
		n.Value = v
	default: // !!str, !!timestamp, !!binary and custom tags keep their text
		n.Kind = String
		n.Value = y.Value
	}
}

// canonicalInt turns a YAML integer (0x1F, 0o17, 1_000, +5) into JSON
// syntax; "" when it is not an integer after all.
func canonicalInt(s string) string {
	if isJSONNumber(s) {
		return s
	}
	t := strings.ReplaceAll(s, "_", "")
	neg := false
	switch {
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "0o"), strings.HasPrefix(t, "0O"):
		base, t = 8, t[2:]
	case strings.HasPrefix(t, "0b"), strings.HasPrefix(t, "0B"):
		base, t = 2, t[2:]
	case len(t) > 1 && t[0] == '0':
		base, t = 8, t[1:] // YAML 1.1 octal
	}
	var b big.Int
	if _, ok := b.SetString(t, base); !ok {
		return ""
	}
	if neg {
		b.Neg(&b)
	}
	return b.String()
}

func canonicalFloat(s string) (string, bool) {
	if isJSONNumber(s) {
		return s, true
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return strconv.FormatFloat(f, 'g', -1, 64), true
}

// isJSONNumber reports whether s is a number in JSON's syntax.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

func yamlKindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	}
	return "node"
}

// syntaxDiagnostic positions a YAML parser error. Where the parser names the
// construct it was in (an unclosed bracket or quote), the diagnostic points at
// where that construct opened, because that is where the mistake is; the
// place the parser gave up is added as related information.
func syntaxDiagnostic(path string, data []byte, err error) diag.Diagnostic {
	d := diag.Diagnostic{Severity: diag.Error, Code: CodeSyntax, Pos: diag.Pos{File: path, Line: 1, Col: 1}}
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		var les *yaml.LoadErrors
		if errors.As(err, &les) && len(les.Errors) > 0 {
			le = les.Errors[0]
		}
	}
	if le == nil {
		d.Message = strings.TrimPrefix(err.Error(), "yaml: ")
		return d
	}
	msg := le.Message
	where := le.Mark
	if le.ContextMark.Line > 0 && le.ContextMsg != "" && isUnclosed(le) {
		opener := describeOpener(data, le.ContextMark.Line, le.ContextMark.Column)
		msg = fmt.Sprintf("%s %s: %s", le.ContextMsg, opener, msg)
		d.Related = append(d.Related, diag.Related{
			Pos:     diag.Pos{File: path, Line: le.Mark.Line, Col: le.Mark.Column},
			Message: "the parser gave up here",
		})
		where = le.ContextMark
	} else if line, col, ok := unclosedFlow(data, le.Mark.Line, le.Mark.Column); ok && line < le.Mark.Line {
		// The parser gave up on a later line without naming the construct
		// it was in: an unclosed bracket of a flow collection, which goes on
		// across lines, is then the likelier mistake.
		opener := describeOpener(data, line, col)
		msg = fmt.Sprintf("flow collection %s; at line %d: %s", opener, le.Mark.Line, msg)
		d.Related = append(d.Related, diag.Related{
			Pos:     diag.Pos{File: path, Line: le.Mark.Line, Col: le.Mark.Column},
			Message: "the parser gave up here",
		})
		where = yaml.Mark{Line: line, Column: col}
	} else if le.ContextMsg != "" {
		msg = le.ContextMsg + ": " + msg
	}
	if where.Line > 0 {
		d.Pos.Line, d.Pos.Col = where.Line, max(where.Column, 1)
	}
	d.Message = "YAML syntax error: " + msg
	return d
}

// unclosedFlow finds the innermost flow collection bracket ("{" or "[")
// still open at line:col (1-based), skipping quoted scalars and comments,
// and returns its position. Brackets inside block scalars can mislead it,
// so callers use it only for errors the parser gave no context for.
func unclosedFlow(data []byte, line, col int) (int, int, bool) {
	type open struct{ line, col int }
	var stack []open
	l, c := 1, 0
	var quote byte
	lineStart := true
	for i := 0; i < len(data); i++ {
		b := data[i]
		if b == '\n' {
			l, c, lineStart = l+1, 0, true
			if quote == 0 {
				continue
			}
			continue
		}
		if b&0xC0 != 0x80 { // count characters, not UTF-8 continuation bytes
			c++
		}
		if l > line || (l == line && c >= col) {
			break
		}
		switch {
		case quote == '\'':
			if b == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++ // '' is an escaped quote
					c++
				} else {
					quote = 0
				}
			}
		case quote == '"':
			if b == '\\' {
				i++
				c++
			} else if b == '"' {
				quote = 0
			}
		case b == '#' && (lineStart || i > 0 && (data[i-1] == ' ' || data[i-1] == '\t')):
			// A comment: skip to the end of the line.
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case b == '\'' || b == '"':
			quote = b
		case b == '{' || b == '[':
			stack = append(stack, open{l, c})
		case (b == '}' || b == ']') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
		if b != ' ' && b != '\t' {
			lineStart = false
		}
	}
	if len(stack) == 0 {
		return 0, 0, false
	}
	top := stack[len(stack)-1]
	return top.line, top.col, true
}

// isUnclosed reports whether a parser error is about a construct that was
// opened and not closed, so that its opening is the better position.
func isUnclosed(le *yaml.LoadError) bool {
	c := le.ContextMsg
	return strings.Contains(c, "flow mapping") || strings.Contains(c, "flow sequence") ||
		strings.Contains(c, "quoted scalar")
}

func describeOpener(data []byte, line, col int) string {
	start := 0
	for l := 1; l < line && start < len(data); l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return "opened here"
		}
		start += i + 1
	}
	rest := data[start:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	r := []rune(string(rest))
	if col >= 1 && col <= len(r) {
		switch r[col-1] {
		case '{', '[', '"', '\'':
			return fmt.Sprintf("(%q opened here, not closed)", r[col-1])
		}
	}
	return "(opened here)"
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// offsetPos converts a byte offset into a 1-based line and column.
func offsetPos(data []byte, off int) (line, col int) {
	off = min(off, len(data))
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(data[lineStart:off])
}
