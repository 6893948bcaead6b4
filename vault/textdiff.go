package vault

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// diffFields compares two agreement texts field by field: the top-level
// fields, and one level into those whose value is a mapping (clauses,
// confidentiality, retention). Values are compared by meaning, not layout
// (a flow list and a block list with the same items are the same). Both
// texts were parsed when they were stored, so a failure here is an error.
func diffFields(x, y []byte) ([]FieldChange, error) {
	fx, err := textFields(x)
	if err != nil {
		return nil, err
	}
	fy, err := textFields(y)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range fx {
		keys = append(keys, k)
	}
	for k := range fy {
		if _, ok := fx[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := []FieldChange{}
	for _, k := range keys {
		a, inX := fx[k]
		b, inY := fy[k]
		switch {
		case !inX:
			out = append(out, FieldChange{Field: k, Change: "added"})
		case !inY:
			out = append(out, FieldChange{Field: k, Change: "removed"})
		case a != b:
			out = append(out, FieldChange{Field: k, Change: "changed"})
		}
	}
	return out, nil
}

// textFields maps each field path of an agreement text to its value in a
// canonical form.
func textFields(text []byte) (map[string]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("an agreement text does not parse: %w", err)
	}
	out := map[string]string{}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out, nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		name, val := top.Content[i].Value, top.Content[i+1]
		if val.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(val.Content); j += 2 {
				if err := canonical(out, name+"."+val.Content[j].Value, val.Content[j+1]); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := canonical(out, name, val); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func canonical(out map[string]string, path string, n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("field %s of an agreement text does not decode: %w", path, err)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("field %s of an agreement text: %w", path, err)
	}
	out[path] = string(b)
	return nil
}
