package dvc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileSuffix ends every .dvc file name.
const FileSuffix = ".dvc"

// Keys DVC accepts; anything else makes DVC refuse the file, so housectl
// refuses it too (its own data goes under meta:).
var (
	topKeys = set("outs", "desc", "md5", "wdir", "deps", "frozen", "always_changed", "meta", "locked")
	outKeys = set("md5", "size", "nfiles", "isexec", "version_id", "etag", "checksum", "cloud", "hash",
		"path", "fs_config", "desc", "type", "labels", "meta", "cache", "metric", "plot", "persist",
		"remote", "push", "files")
)

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// Out is one output of a .dvc file.
type Out struct {
	MD5    ID
	Size   int64
	NFiles int // directories only
	IsExec bool
	// Hash is "md5" for DVC 3 outputs and empty for legacy DVC 2 ones,
	// whose MD5 is the dos2unix hash and whose object lives in the legacy
	// cache layout.
	Hash string
	// Path is relative to the .dvc file's directory, slash-separated.
	Path string
}

// Legacy reports whether the output was written by DVC 2.
func (o Out) Legacy() bool { return o.Hash == "" }

// File is a parsed .dvc file. Its YAML tree is kept so that writing it back
// preserves comments, key order and the keys housectl does not manage.
type File struct {
	Outs []Out
	doc  *yaml.Node
}

// ParseFile parses a .dvc file's content; name is used in errors.
func ParseFile(data []byte, name string) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a mapping with an outs list", name)
	}
	root := doc.Content[0]
	f := &File{doc: &doc}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !topKeys[k.Value] {
			return nil, fmt.Errorf("%s:%d: extra key %q is not allowed in a .dvc file (DVC would refuse the file); put your own data under the meta key", name, k.Line, k.Value)
		}
		if k.Value != "outs" {
			continue
		}
		if v.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("%s:%d: outs must be a list", name, v.Line)
		}
		for _, item := range v.Content {
			o, err := parseOut(item, name)
			if err != nil {
				return nil, err
			}
			f.Outs = append(f.Outs, o)
		}
	}
	if len(f.Outs) == 0 {
		return nil, fmt.Errorf("%s: no outs", name)
	}
	return f, nil
}

func parseOut(n *yaml.Node, name string) (Out, error) {
	if n.Kind != yaml.MappingNode {
		return Out{}, fmt.Errorf("%s:%d: an out must be a mapping", name, n.Line)
	}
	var o Out
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		bad := func(want string) error {
			return fmt.Errorf("%s:%d: %s: want %s, got %q", name, v.Line, k.Value, want, v.Value)
		}
		var err error
		switch k.Value {
		case "md5":
			if o.MD5, err = ParseID(v.Value); err != nil {
				return Out{}, fmt.Errorf("%s:%d: %w", name, v.Line, err)
			}
		case "size":
			if o.Size, err = strconv.ParseInt(v.Value, 10, 64); err != nil || o.Size < 0 {
				return Out{}, bad("a byte count")
			}
		case "nfiles":
			if o.NFiles, err = strconv.Atoi(v.Value); err != nil || o.NFiles < 0 {
				return Out{}, bad("a file count")
			}
		case "isexec":
			o.IsExec = v.Value == "true"
		case "hash":
			if v.Value != "md5" {
				return Out{}, bad("md5")
			}
			o.Hash = v.Value
		case "path":
			o.Path = v.Value
		default:
			if !outKeys[k.Value] {
				return Out{}, fmt.Errorf("%s:%d: extra key %q is not allowed in an out (DVC would refuse the file)", name, k.Line, k.Value)
			}
		}
	}
	if o.Path == "" {
		return Out{}, fmt.Errorf("%s:%d: an out needs a path", name, n.Line)
	}
	if o.MD5 == "" {
		return Out{}, fmt.Errorf("%s:%d: out %q has no md5: run `housectl data add %s` (or `dvc commit`)", name, n.Line, o.Path, o.Path)
	}
	return o, nil
}

// ReadFile reads and parses a .dvc file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(b, path)
}

// NewFile returns a .dvc file for one output, laid out as `dvc add`
// writes it.
func NewFile(o Out) *File {
	root := &yaml.Node{Kind: yaml.MappingNode}
	item := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = []*yaml.Node{scalar("outs"), {Kind: yaml.SequenceNode, Content: []*yaml.Node{item}}}
	f := &File{doc: &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, Outs: make([]Out, 1)}
	f.SetOut(o)
	return f
}

// SetOut records o in the output with the same path (or the only output),
// keeping every other key, comment and the order of the keys already
// there. New keys go where DVC 3 puts them: md5, size, nfiles, isexec,
// hash, path. The output becomes a DVC 3 one (hash: md5).
func (f *File) SetOut(o Out) {
	o.Hash = "md5"
	outs := mapGet(f.doc.Content[0], "outs")
	var item *yaml.Node
	for i, it := range outs.Content {
		if p := mapGet(it, "path"); (p != nil && p.Value == o.Path) || len(outs.Content) == 1 {
			item = it
			f.Outs[i] = o
		}
	}
	if item == nil {
		item = &yaml.Node{Kind: yaml.MappingNode}
		outs.Content = append(outs.Content, item)
		f.Outs = append(f.Outs, o)
	}
	// DVC 3's order: the managed keys first, in this order, then the rest.
	managed := []struct {
		key, val string
		keep     bool
		str      bool // a string (quoted if YAML would read it as something else)
	}{
		{"md5", string(o.MD5), true, true},
		{"size", strconv.FormatInt(o.Size, 10), true, false},
		{"nfiles", strconv.Itoa(o.NFiles), o.MD5.IsDir(), false},
		{"isexec", "true", o.IsExec, false},
		{"hash", "md5", true, true},
		{"path", o.Path, true, true},
	}
	prev := -1 // index of the last managed key placed
	for _, m := range managed {
		at := mapIndex(item, m.key)
		switch {
		case !m.keep && at >= 0:
			item.Content = append(item.Content[:at], item.Content[at+2:]...)
		case m.keep && at >= 0:
			*item.Content[at+1] = *value(m.val, m.str)
			prev = at
		case m.keep:
			ins := prev + 2
			if prev < 0 {
				ins = 0
			}
			item.Content = append(item.Content[:ins], append([]*yaml.Node{scalar(m.key), value(m.val, m.str)}, item.Content[ins:]...)...)
			prev = ins
		}
	}
}

// Bytes renders the file in DVC's layout: block style, two-space indent,
// list dashes at their parent key's column.
func (f *File) Bytes() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(f.doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func scalar(v string) *yaml.Node { return value(v, true) }

// value is a scalar node: a string, quoted as ruamel would, or a literal
// (int, bool) written plain.
func value(v string, str bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if str {
		n.Style = quoteStyle(v)
	}
	return n
}

// quoteStyle picks ruamel's style for a string value: plain when YAML reads
// it back as the same string, else single quotes ('123', 'true'), or double
// quotes when it has characters that single quotes cannot hold.
func quoteStyle(v string) yaml.Style {
	out, err := yaml.Marshal(v)
	if err != nil || !(bytes.HasPrefix(out, []byte(`"`)) || bytes.HasPrefix(out, []byte(`'`))) {
		return 0
	}
	if strings.ContainsAny(v, "\n\r\t") || !strconv.IsPrint(firstNonPrint(v)) {
		return yaml.DoubleQuotedStyle
	}
	return yaml.SingleQuotedStyle
}

func firstNonPrint(s string) rune {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return r
		}
	}
	return 'a'
}

func mapIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if i := mapIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}
