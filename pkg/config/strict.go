package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkFile checks a config file's YAML against the Config type: every key
// known, every value of the right type. It returns one error per problem,
// each naming the line and the dotted key.
func checkFile(data []byte) []error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{fmt.Errorf("not valid YAML: %w", err)}
	}
	if len(doc.Content) == 0 {
		return []error{fmt.Errorf("the file is empty: it needs at least `version: %d`", FileVersion)}
	}
	root := doc.Content[0]
	var errs []error
	checkNode(root, reflect.TypeFor[Config](), "", &errs)
	if len(errs) == 0 && root.Kind == yaml.MappingNode {
		found := false
		for i := 0; i < len(root.Content); i += 2 {
			if root.Content[i].Value == "version" {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("line %d: missing key \"version\": add `version: %d` at the top", root.Line, FileVersion))
		}
	}
	return errs
}

func checkNode(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	fail := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("line %d: %s: %s", n.Line, displayPath(path), fmt.Sprintf(format, args...)))
	}
	isNull := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	if t.Kind() == reflect.Pointer {
		if isNull {
			return
		}
		t = t.Elem()
	}
	if isNull {
		fail("has no value: give one, or delete the key to use the default")
		return
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			fail("want a duration such as \"30s\", \"2m\" or \"7d\", got %s", describe(n))
			return
		}
		if _, err := ParseDuration(n.Value); err != nil {
			fail("want a duration such as \"30s\", \"2m\" or \"7d\", got %q", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			fail("want a mapping of keys (%s), got %s", strings.Join(fieldNames(t), ", "), describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := joinPath(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, fmt.Errorf("line %d: %s: key given twice", k.Line, child))
				continue
			}
			seen[k.Value] = true
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				*errs = append(*errs, fmt.Errorf("line %d: unknown key %q (known keys%s: %s)",
					k.Line, child, under(path), strings.Join(fieldNames(t), ", ")))
				continue
			}
			checkNode(v, f.Type, child, errs)
		}
	case t.Kind() == reflect.Interface:
		// Free-form (model parameters): checked where it is used.
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			fail("want a mapping, got %s", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkNode(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value), errs)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			fail("want a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			fail("want a string, got %s (put it in quotes if it is meant as text)", describe(n))
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			fail("want true or false, got %s", describe(n))
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			fail("want a whole number, got %s", describe(n))
		}
	case t.Kind() == reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			fail("want a number, got %s", describe(n))
		}
	default:
		panic("config: unhandled field type " + t.String())
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the whole number " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	}
	return fmt.Sprintf("%q", n.Value)
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func displayPath(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func under(path string) string {
	if path == "" {
		return " at the top level"
	}
	return " under " + path
}
