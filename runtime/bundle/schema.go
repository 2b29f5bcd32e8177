package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// SchemaDialect is the `$schema` of the documents SchemaDocument returns.
const SchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// defRefPrefix starts every reference a bundle's schemas may hold.
const defRefPrefix = "#/$defs/"

// SchemaDocument returns the self-contained JSON Schema 2020-12 document for
// a schema root of b (a Param's or MediaType's Schema): the root's members,
// preceded by "$schema" and followed by "$defs" holding exactly the
// definitions of b.Defs reachable from the root, sorted by name ("$defs" is
// left out when none is). A boolean root gives the equivalent object.
// The bytes depend only on the content, not on its formatting.
func (b *Bundle) SchemaDocument(root json.RawMessage) (json.RawMessage, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, root); err != nil {
		return nil, fmt.Errorf("schema root is not valid JSON: %w", err)
	}
	c := compact.Bytes()
	var inner []byte // the root's members, without braces
	switch c[0] {
	case 't', 'f':
		if c[0] == 'f' {
			inner = []byte(`"not":{}`)
		}
	case '{':
		inner = c[1 : len(c)-1]
		for _, k := range []string{"$schema", "$defs"} {
			if has, err := hasMember(c, k); err != nil || has {
				return nil, fmt.Errorf("schema root has %q; bundle schema roots use the bundle's definitions instead", k)
			}
		}
	default:
		return nil, errors.New("schema root must be an object or a boolean")
	}

	names, err := b.reachableDefs(c)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString(`{"$schema":"` + SchemaDialect + `"`)
	if len(inner) > 0 {
		out.WriteByte(',')
		out.Write(inner)
	}
	if len(names) > 0 {
		out.WriteString(`,"$defs":{`)
		for i, name := range names {
			if i > 0 {
				out.WriteByte(',')
			}
			writeString(&out, name)
			out.WriteByte(':')
			if err := json.Compact(&out, b.Defs[name]); err != nil {
				return nil, fmt.Errorf("defs %q: not valid JSON: %w", name, err)
			}
		}
		out.WriteByte('}')
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// reachableDefs returns, sorted, the names of the definitions the parsed
// schema refers to, directly or through other definitions.
func (b *Bundle) reachableDefs(root []byte) ([]string, error) {
	seen := map[string]bool{}
	var queue []string
	visit := func(ref string) error {
		name, err := parseDefRef(ref)
		if err != nil {
			return err
		}
		if _, ok := b.Defs[name]; !ok {
			return fmt.Errorf("$ref %q: definition %q is not defined", ref, name)
		}
		if !seen[name] {
			seen[name] = true
			queue = append(queue, name)
		}
		return nil
	}
	if err := walkSchema(root, visit); err != nil {
		return nil, err
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if err := walkSchema(b.Defs[name], visit); err != nil {
			return nil, fmt.Errorf("defs %q: %w", name, err)
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// parseDefRef returns the definition name a "#/$defs/NAME" reference names.
// The reference is a URI fragment holding a JSON pointer, so NAME is
// percent-decoded first and then JSON-pointer-unescaped (~1 is "/", ~0 is
// "~"), in that order (RFC 6901 §6).
func parseDefRef(ref string) (string, error) {
	token, ok := strings.CutPrefix(ref, defRefPrefix)
	if !ok {
		return "", fmt.Errorf("$ref %q: bundle schemas may only refer to %q definitions", ref, defRefPrefix+"NAME")
	}
	token, err := url.PathUnescape(token)
	if err != nil {
		return "", fmt.Errorf("$ref %q: bad percent-encoding", ref)
	}
	if strings.Contains(token, "/") {
		return "", fmt.Errorf("$ref %q: points inside a definition; bundle schemas may only refer to whole definitions", ref)
	}
	var name strings.Builder
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c != '~' {
			name.WriteByte(c)
			continue
		}
		if i+1 == len(token) || (token[i+1] != '0' && token[i+1] != '1') {
			return "", fmt.Errorf("$ref %q: bad JSON pointer escape (want ~0 or ~1)", ref)
		}
		name.WriteByte("~/"[token[i+1]-'0'])
		i++
	}
	return name.String(), nil
}

// DefRef returns the reference to the definition name, escaped as
// parseDefRef (and any JSON Schema implementation) undoes it.
func DefRef(name string) string {
	name = strings.ReplaceAll(name, "~", "~0")
	name = strings.ReplaceAll(name, "/", "~1")
	return defRefPrefix + (&url.URL{Path: name}).EscapedPath()
}

// writeString writes s as a JSON string, without encoding/json's HTML
// escaping, as the payload does.
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode's newline
}
