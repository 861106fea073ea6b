package dvc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

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
	src  []byte // the text it was read from, for comments' columns
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
	f := &File{doc: &doc, src: data}
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
// as `dvc add` updates a .dvc file (DVC's apply_diff on ruamel's
// round-trip tree): a key already there keeps its place and its comment, a
// new key goes at the end of the output, and a key that no longer applies
// goes. A new output's keys are in DVC 3's order: md5, size, nfiles,
// isexec, hash, path. The output becomes a DVC 3 one (hash: md5).
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
	managed := []struct {
		key, val string
		keep     bool
		tag      string
	}{
		{"md5", string(o.MD5), true, "!!str"},
		{"size", strconv.FormatInt(o.Size, 10), true, "!!int"},
		{"nfiles", strconv.Itoa(o.NFiles), o.MD5.IsDir(), "!!int"},
		{"isexec", "true", o.IsExec, "!!bool"},
		{"hash", "md5", true, "!!str"},
		{"path", o.Path, true, "!!str"},
	}
	for _, m := range managed {
		at := mapIndex(item, m.key)
		switch {
		case !m.keep && at >= 0:
			item.Content = append(item.Content[:at], item.Content[at+2:]...)
		case m.keep && at >= 0:
			v := item.Content[at+1]
			if v.Kind != yaml.ScalarNode || v.Value != m.val {
				*v = yaml.Node{Kind: yaml.ScalarNode, Tag: m.tag, Value: m.val, LineComment: v.LineComment,
					HeadComment: v.HeadComment, FootComment: v.FootComment, Line: v.Line, Column: v.Column}
			}
		case m.keep:
			item.Content = append(item.Content, scalar(m.key), &yaml.Node{Kind: yaml.ScalarNode, Tag: m.tag, Value: m.val})
		}
	}
}

// Bytes renders the file in DVC's layout: block style, two-space indent,
// list dashes at their parent key's column; the outputs' string values
// quoted and wrapped as ruamel writes them, and comments after a value at
// the column they were read at.
func (f *File) Bytes() ([]byte, error) {
	// Values are rendered by ruamel's rules, and comments re-aligned, after
	// the encoder: each goes through as a unique token first.
	nonce := fmt.Sprintf("hcx%dx", len(f.src)+len(f.Outs))
	for bytes.Contains(f.src, []byte(nonce)) {
		nonce += "x"
	}
	type value struct {
		node   *yaml.Node
		key    string
		saved  yaml.Node
		render bool
	}
	var values []value
	var comments []string // original comment text, by token
	var commentCols []int
	markComment := func(n *yaml.Node) {
		if n.LineComment == "" {
			return
		}
		commentCols = append(commentCols, f.commentColumn(n))
		comments = append(comments, n.LineComment)
		n.LineComment = fmt.Sprintf("#%sc%d", nonce, len(comments)-1)
	}
	outs := mapGet(f.doc.Content[0], "outs")
	for _, it := range outs.Content {
		for i := 0; i+1 < len(it.Content); i += 2 {
			k, v := it.Content[i], it.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				continue
			}
			values = append(values, value{node: v, key: k.Value, saved: *v, render: v.ShortTag() == "!!str"})
			markComment(v)
			v.Value, v.Style, v.Tag = fmt.Sprintf("%sv%d", nonce, len(values)-1), 0, ""
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	err := enc.Encode(f.doc)
	if err == nil {
		err = enc.Close()
	}
	for _, v := range values {
		*v.node = v.saved
	}
	if err != nil {
		return nil, err
	}
	out := b.String()
	for i, v := range values {
		tok := fmt.Sprintf("%sv%d", nonce, i)
		at := strings.Index(out, tok)
		if at < 0 {
			return nil, fmt.Errorf("internal error: value %d of the .dvc file was not written", i)
		}
		text := v.saved.Value
		if v.render {
			col := utf8.RuneCountInString(out[strings.LastIndexByte(out[:at], '\n')+1 : at])
			keyCol := col - utf8.RuneCountInString(v.key) - 2
			text = ruamelScalar(v.saved.Value, col, keyCol+2)
		}
		out = out[:at] + text + out[at+len(tok):]
	}
	for i, c := range comments {
		tok := fmt.Sprintf(" #%sc%d", nonce, i)
		at := strings.Index(out, tok)
		if at < 0 {
			return nil, fmt.Errorf("internal error: comment %d of the .dvc file was not written", i)
		}
		col := utf8.RuneCountInString(out[strings.LastIndexByte(out[:at], '\n')+1 : at])
		pad := max(commentCols[i]-col, 1)
		out = out[:at] + strings.Repeat(" ", pad) + c + out[at+len(tok):]
	}
	return []byte(out), nil
}

// commentColumn is the column, in code points, at which n's line comment
// was read (one past the value when it is new).
func (f *File) commentColumn(n *yaml.Node) int {
	lines := bytes.Split(f.src, []byte("\n"))
	if n.Line < 1 || n.Line > len(lines) {
		return 0
	}
	line := string(lines[n.Line-1])
	at := strings.LastIndex(line, n.LineComment)
	if at < 0 {
		return 0
	}
	return utf8.RuneCountInString(line[:at])
}

// scalar is a plain scalar node (a key).
func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

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
