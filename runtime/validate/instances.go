package validate

import "encoding/json"

// Instances returns JSON documents generated from the schema for agreement
// tests: an instance built from the schema's types and properties, and
// mutations of it (each property given a value of another type, each
// required property removed, scalar values of every type).
func (s *Schema) Instances() [][]byte {
	out := [][]byte{[]byte(`null`), []byte(`true`), []byte(`0`), []byte(`-1.5`), []byte(`"x"`), []byte(`[]`), []byte(`{}`), []byte(`[1,"a",null]`)}
	base := sample(s.shape, 0)
	add := func(v any) {
		if b, err := json.Marshal(v); err == nil {
			out = append(out, b)
		}
	}
	add(base)
	if obj, isObj := base.(map[string]any); isObj {
		for k := range obj {
			for _, other := range []any{"s", json.Number("7"), json.Number("2.5"), true, nil, []any{}, map[string]any{}} {
				m := make(map[string]any, len(obj))
				for k2, v2 := range obj {
					m[k2] = v2
				}
				m[k] = other
				add(m)
			}
			m := make(map[string]any, len(obj))
			for k2, v2 := range obj {
				if k2 != k {
					m[k2] = v2
				}
			}
			add(m)
		}
	}
	return out
}

// sample is a value of the shape's first type, objects with every known
// property.
func sample(sh *shape, depth int) any {
	if sh == nil || depth > 6 {
		return nil
	}
	switch {
	case sh.types&tObject != 0 || (sh.types == 0 && sh.props != nil):
		m := map[string]any{}
		for k, p := range sh.props {
			m[k] = sample(p, depth+1)
		}
		return m
	case sh.types&tArray != 0:
		return []any{sample(sh.items, depth+1)}
	case sh.types&tString != 0:
		return "2024-01-02"
	case sh.types&tInteger != 0:
		return json.Number("3")
	case sh.types&tNumber != 0:
		return json.Number("1.25")
	case sh.types&tBool != 0:
		return true
	}
	return nil
}
