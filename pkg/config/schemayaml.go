package config

import (
	"bytes"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// schemaNode is the schema as a YAML mapping in the shipped files' style:
// one flow mapping per column.
func schemaNode(s Schema) *yaml.Node {
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	num := func(v float64) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(v, 'g', -1, 64)}
	}
	boolean := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}
	cols := &yaml.Node{Kind: yaml.SequenceNode}
	for _, c := range s.Columns {
		m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		m.Content = append(m.Content, str("name"), str(c.Name), str("type"), str(c.Type))
		if c.Min != nil {
			m.Content = append(m.Content, str("min"), num(*c.Min))
		}
		if c.Max != nil {
			m.Content = append(m.Content, str("max"), num(*c.Max))
		}
		if len(c.Values) > 0 {
			vs := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, v := range c.Values {
				vs.Content = append(vs.Content, str(v))
			}
			m.Content = append(m.Content, str("values"), vs)
		}
		if c.Nullable {
			m.Content = append(m.Content, str("nullable"), boolean)
		}
		if c.Ignore {
			m.Content = append(m.Content, str("ignore"), boolean)
		}
		cols.Content = append(cols.Content, m)
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	out.Content = append(out.Content, str("target"), str(s.Target))
	if s.Duplicates != "" {
		out.Content = append(out.Content, str("duplicates"), str(s.Duplicates))
	}
	out.Content = append(out.Content, str("columns"), cols)
	return out
}

// SchemaYAML is the schema section, "schema:" and its keys, as YAML to
// paste into a configuration file.
func SchemaYAML(s Schema) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "schema"}, schemaNode(s))
	return encode(doc)
}

// encode writes YAML nodes with the shipped files' two-space indent.
func encode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// parseConfig reads configuration file data into its top mapping.
func parseConfig(data []byte) (*yaml.Node, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("not a configuration: want a mapping of keys at the top")
	}
	return &doc, doc.Content[0], nil
}

// setSchema replaces the schema section of the top mapping (adding it
// when it has none).
func setSchema(top *yaml.Node, s Schema) {
	node := schemaNode(s)
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "schema" {
			node.HeadComment = top.Content[i+1].HeadComment
			top.Content[i+1] = node
			return
		}
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "schema",
		HeadComment: "The columns of the data, proposed by housectl data schema."}
	top.Content = append(top.Content, key, node)
}

// WithSchema returns the configuration file data with its schema section
// replaced by s (added when it has none); the other keys and their
// comments are kept.
func WithSchema(data []byte, s Schema) ([]byte, error) {
	doc, top, err := parseConfig(data)
	if err != nil {
		return nil, err
	}
	setSchema(top, s)
	return encode(doc)
}

// Scaffolding is what `housectl init --from-csv` sets in a new
// configuration: the data file, the names derived from it, the schema.
type Scaffolding struct {
	DataPath string
	// Name names the experiment, the registered model and the served URI.
	Name   string
	Schema Schema
}

// Scaffold returns the configuration file data set up for a project around
// any CSV: data.path, train.experiment, pipeline.model, serve.model and
// the schema, and a pipeline without the California fetch stage. Other
// keys and comments are kept.
func Scaffold(data []byte, sc Scaffolding) ([]byte, error) {
	doc, top, err := parseConfig(data)
	if err != nil {
		return nil, err
	}
	setSchema(top, sc.Schema)
	set := func(section, key string, v *yaml.Node) {
		var sec *yaml.Node
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value == section {
				sec = top.Content[i+1]
			}
		}
		if sec == nil || sec.Kind != yaml.MappingNode {
			sec = &yaml.Node{Kind: yaml.MappingNode}
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: section}, sec)
		}
		for i := 0; i+1 < len(sec.Content); i += 2 {
			if sec.Content[i].Value == key {
				v.LineComment = sec.Content[i+1].LineComment
				sec.Content[i+1] = v
				return
			}
		}
		sec.Content = append(sec.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	set("data", "path", str(sc.DataPath))
	set("train", "experiment", str(sc.Name))
	set("pipeline", "model", str(sc.Name))
	set("serve", "model", str("models:/"+sc.Name+"@production"))
	stages := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range PipelineStages[1:] {
		stages.Content = append(stages.Content, str(s))
	}
	set("pipeline", "stages", stages)
	return encode(doc)
}
