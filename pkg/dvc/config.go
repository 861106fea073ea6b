package dvc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// DVC's configuration is up to four configobj INI files, each shadowing
// the ones before it (dvc/config.py LEVELS):
//
//	system  $DVC_SYSTEM_CONFIG_DIR/config, else $XDG_CONFIG_DIRS' first (/etc/xdg)/dvc/config
//	global  $DVC_GLOBAL_CONFIG_DIR/config, else $XDG_CONFIG_HOME (~/.config)/dvc/config
//	repo    .dvc/config (committed)
//	local   .dvc/config.local (git-ignored)
//
// A file reads as configobj reads it: "[core]" and "['remote \"name\"']"
// sections, "key = value" with the value unquoted, an unquoted "#" starting
// a comment, a comma making a list; section names and keys are
// case-insensitive (DVC lower-cases them). Edits change only the lines they
// touch, values quoted as configobj's writer quotes them (DVC rewrites the
// whole file and drops its comments; housectl keeps them).

// ConfigLevel names one of the files.
type ConfigLevel string

// The levels, in the order they shadow each other.
const (
	LevelSystem ConfigLevel = "system"
	LevelGlobal ConfigLevel = "global"
	LevelRepo   ConfigLevel = "repo"
	LevelLocal  ConfigLevel = "local"
)

// ConfigLevels lists the levels, the most shadowed first.
var ConfigLevels = []ConfigLevel{LevelSystem, LevelGlobal, LevelRepo, LevelLocal}

// ConfigFile is one configobj file.
type ConfigFile struct {
	Level ConfigLevel
	Path  string
	lines []string
	// Exists is false for a file not (yet) on disk.
	Exists bool
}

// configPath is where a level's file lives, for a repository whose .dvc
// directory is dvcDir.
func configPath(level ConfigLevel, dvcDir string) string {
	switch level {
	case LevelSystem:
		if d := os.Getenv("DVC_SYSTEM_CONFIG_DIR"); d != "" {
			return filepath.Join(d, "config")
		}
		dirs := os.Getenv("XDG_CONFIG_DIRS")
		if dirs == "" {
			dirs = "/etc/xdg"
		}
		first, _, _ := strings.Cut(dirs, string(os.PathListSeparator))
		return filepath.Join(first, "dvc", "config")
	case LevelGlobal:
		if d := os.Getenv("DVC_GLOBAL_CONFIG_DIR"); d != "" {
			return filepath.Join(d, "config")
		}
		base := os.Getenv("XDG_CONFIG_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return ""
			}
			base = filepath.Join(home, ".config")
		}
		return filepath.Join(base, "dvc", "config")
	case LevelLocal:
		return filepath.Join(dvcDir, "config.local")
	}
	return filepath.Join(dvcDir, "config")
}

// ReadConfigFile reads and checks one file (empty when missing).
func ReadConfigFile(level ConfigLevel, path string) (*ConfigFile, error) {
	c := &ConfigFile{Level: level, Path: path}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	c.Exists = true
	if len(b) > 0 {
		c.lines = strings.Split(strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), "\n")
	}
	if _, err := c.parse(); err != nil {
		return nil, err
	}
	return c, nil
}

// configEntry is one parsed line of a file.
type configEntry struct {
	line    int    // index into lines
	section string // lower-cased
	key     string // lower-cased; "" for a section header
	value   string
	list    bool
}

var (
	cfgSection = regexp.MustCompile(`^(\s*)((?:\[\s*)+)((?:"\s*\S.*?\s*")|(?:'\s*\S.*?\s*')|(?:[^'"\s].*?))((?:\s*\])+)\s*(#.*)?$`)
	cfgKeyword = regexp.MustCompile(`^(\s*)((?:".*?")|(?:'.*?')|(?:[^'"=].*?))\s*=\s*(.*)$`)
	// configobj's _valueexp; its "(?<!,)" empty alternative is a plain
	// empty alternative here, the trailing empty item of "a," being dropped
	// below as configobj's own workaround drops it.
	cfgValue      = regexp.MustCompile(`^(?:(?:((?:(?:(?:".*?")|(?:'.*?')|(?:[^'",#][^,#]*?))\s*,\s*)*)((?:".*?")|(?:'.*?')|(?:[^'",#\s][^,]*?)|)?)|(,))\s*(#.*)?$`)
	cfgListItem   = regexp.MustCompile(`((?:".*?")|(?:'.*?')|(?:[^'",#]?.*?))\s*,\s*`)
	cfgTripleLine = regexp.MustCompile(`^('''|""")(.*?)('''|""")\s*(#.*)?$`)
)

func cfgUnquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// parseValue reads what follows "key =" as configobj does. A list is
// returned joined with ", " and list true.
func parseValue(raw string) (string, bool, bool) {
	if strings.HasPrefix(raw, `'''`) || strings.HasPrefix(raw, `"""`) {
		m := cfgTripleLine.FindStringSubmatch(raw)
		if m == nil || m[1] != m[3] {
			return "", false, false
		}
		return m[2], false, true
	}
	m := cfgValue.FindStringSubmatch(raw)
	if m == nil {
		return "", false, false
	}
	listPart, single, emptyList := m[1], m[2], m[3]
	if emptyList != "" {
		return "", true, true
	}
	if listPart == "" {
		if single == "" {
			return "", false, true
		}
		return cfgUnquote(single), false, true
	}
	var items []string
	for _, it := range cfgListItem.FindAllStringSubmatch(listPart, -1) {
		items = append(items, cfgUnquote(it[1]))
	}
	if single != "" {
		items = append(items, cfgUnquote(single))
	}
	return strings.Join(items, ", "), true, true
}

// parse reads the file's lines as configobj does, refusing what configobj
// refuses, with the line number.
func (c *ConfigFile) parse() ([]configEntry, error) {
	var out []configEntry
	section := ""
	seenSections := map[string]bool{}
	seenKeys := map[string]bool{}
	bad := func(i int, why string) error {
		return fmt.Errorf("%s:%d: %s (DVC's configobj refuses it too): fix the line, or run `housectl data remote modify`", c.Path, i+1, why)
	}
	for i, l := range c.lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if m := cfgSection.FindStringSubmatch(l); m != nil {
			if strings.Count(m[2], "[") != 1 || strings.Count(m[4], "]") != 1 {
				return nil, bad(i, "nested sections ([[...]]) are not part of DVC's configuration")
			}
			section = strings.ToLower(cfgUnquote(strings.TrimSpace(m[3])))
			if seenSections[section] {
				return nil, bad(i, fmt.Sprintf("duplicate section [%s]", section))
			}
			seenSections[section] = true
			out = append(out, configEntry{line: i, section: section})
			continue
		}
		m := cfgKeyword.FindStringSubmatch(l)
		if m == nil {
			return nil, bad(i, fmt.Sprintf("invalid line %q: neither a [section] nor a key = value", strings.TrimSpace(l)))
		}
		key := strings.ToLower(cfgUnquote(strings.TrimSpace(m[2])))
		v, list, ok := parseValue(strings.TrimSpace(m[3]))
		if !ok {
			return nil, bad(i, fmt.Sprintf("cannot read the value of %s (a quote that does not close where the value ends?)", key))
		}
		if seenKeys[section+"\x00"+key] {
			return nil, bad(i, fmt.Sprintf("duplicate key %s", key))
		}
		seenKeys[section+"\x00"+key] = true
		out = append(out, configEntry{line: i, section: section, key: key, value: v, list: list})
	}
	return out, nil
}

func (c *ConfigFile) entries() []configEntry {
	e, _ := c.parse() // checked when read; edits keep it valid
	return e
}

// Lookup returns a key of a section. A list value is an error: DVC's
// options are single values, and "a, b" must be quoted to be one.
func (c *ConfigFile) Lookup(section, key string) (string, bool, error) {
	section, key = strings.ToLower(section), strings.ToLower(key)
	for _, e := range c.entries() {
		if e.section == section && e.key == key {
			if e.list {
				return "", false, fmt.Errorf("%s:%d: %s = %s is a list to configobj (an unquoted comma): quote the value, e.g. %s = %s", c.Path, e.line+1, key, strings.TrimSpace(strings.SplitN(c.lines[e.line], "=", 2)[1]), key, configQuote(e.value))
			}
			return e.value, true, nil
		}
	}
	return "", false, nil
}

// HasSection reports whether the section exists.
func (c *ConfigFile) HasSection(section string) bool {
	s, _ := c.span(section)
	return s >= 0
}

// Sections lists the sections, lower-cased, in file order.
func (c *ConfigFile) Sections() []string {
	var out []string
	for _, e := range c.entries() {
		if e.key == "" {
			out = append(out, e.section)
		}
	}
	return out
}

// Keys lists a section's keys and values, in file order.
func (c *ConfigFile) Keys(section string) [][2]string {
	section = strings.ToLower(section)
	var out [][2]string
	for _, e := range c.entries() {
		if e.section == section && e.key != "" {
			out = append(out, [2]string{e.key, e.value})
		}
	}
	return out
}

// span returns the line range [start, end) of a section's body (start =
// -1 when it is absent); the header is the line before start.
func (c *ConfigFile) span(section string) (int, int) {
	section = strings.ToLower(section)
	start := -1
	for _, e := range c.entries() {
		if e.key != "" {
			continue
		}
		if start >= 0 {
			return start, e.line
		}
		if e.section == section {
			start = e.line + 1
		}
	}
	if start < 0 {
		return -1, -1
	}
	return start, len(c.lines)
}

// Set sets a key, adding the section (at the end) if needed.
func (c *ConfigFile) Set(section, key, value string) error {
	q, err := configQuoteChecked(value)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", section, key, err)
	}
	line := "    " + key + " = " + q
	s, e := c.span(section)
	if s < 0 {
		header, err := configQuoteName(section)
		if err != nil {
			return err
		}
		c.lines = append(c.lines, "["+header+"]", line)
		return nil
	}
	for _, en := range c.entries() {
		if en.line >= s && en.line < e && en.key == strings.ToLower(key) {
			c.lines[en.line] = line
			return nil
		}
	}
	last := e // after the last non-blank line of the section
	for last > s && strings.TrimSpace(c.lines[last-1]) == "" {
		last--
	}
	c.lines = append(c.lines[:last], append([]string{line}, c.lines[last:]...)...)
	return nil
}

// Unset removes a key; it reports whether it was there.
func (c *ConfigFile) Unset(section, key string) bool {
	s, e := c.span(section)
	for _, en := range c.entries() {
		if en.line >= s && en.line < e && en.key == strings.ToLower(key) {
			c.lines = append(c.lines[:en.line], c.lines[en.line+1:]...)
			return true
		}
	}
	return false
}

// RemoveSection removes a section, its header and its lines; it reports
// whether it was there.
func (c *ConfigFile) RemoveSection(section string) bool {
	s, e := c.span(section)
	if s < 0 {
		return false
	}
	c.lines = append(c.lines[:s-1], c.lines[e:]...)
	return true
}

// Save writes the file atomically (creating its directory).
func (c *ConfigFile) Save() error {
	data := strings.Join(c.lines, "\n")
	if data != "" {
		data += "\n"
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(c.Path, []byte(data), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", c.Path, err)
	}
	c.Exists = true
	return nil
}

const cfgWSPlus = " \r\n\v\t'\""

// configQuote is configobj's _quote of a value (list_values on): bare
// when it can be, else in the quotes that can hold it.
func configQuote(v string) string {
	q, _ := configQuoteChecked(v)
	return q
}

func configQuoteChecked(v string) (string, error) {
	return configobjQuote(v, true)
}

// configQuoteName quotes a section name (configobj: multiline off).
func configQuoteName(v string) (string, error) { return configobjQuote(v, false) }

func configobjQuote(v string, multiline bool) (string, error) {
	if v == "" {
		return `""`, nil
	}
	cannot := fmt.Errorf("the value %q cannot be quoted for configobj (it holds both quote characters)", v)
	both := strings.Contains(v, "'") && strings.Contains(v, `"`)
	needTriple := multiline && (both || strings.Contains(v, "\n"))
	single := func() (string, error) {
		switch {
		case both:
			return "", cannot
		case strings.Contains(v, `"`):
			return "'" + v + "'", nil
		}
		return `"` + v + `"`, nil
	}
	if needTriple {
		if strings.Contains(v, `"""`) && strings.Contains(v, `'''`) {
			return "", cannot
		}
		if !strings.Contains(v, `"""`) {
			return `'''` + v + `'''`, nil
		}
		return `"""` + v + `"""`, nil
	}
	if strings.Contains(v, "\n") {
		return "", fmt.Errorf("the value %q holds a line break, which configobj cannot write on one line", v)
	}
	if !strings.ContainsRune(cfgWSPlus, rune(v[0])) && !strings.ContainsRune(cfgWSPlus, rune(v[len(v)-1])) && !strings.Contains(v, ",") {
		if strings.Contains(v, "#") {
			return single()
		}
		return v, nil
	}
	return single()
}

// Config is the merged view of the levels: a key's value is the one of
// the most local file that sets it.
type Config struct {
	Files []*ConfigFile // in ConfigLevels' order
}

// Config reads every level of the repository's configuration.
func (r *Repo) Config() (*Config, error) {
	c := &Config{}
	for _, l := range ConfigLevels {
		f, err := ReadConfigFile(l, configPath(l, r.Dir()))
		if err != nil {
			return nil, err
		}
		c.Files = append(c.Files, f)
	}
	return c, nil
}

// File returns one level's file.
func (c *Config) File(level ConfigLevel) *ConfigFile {
	for _, f := range c.Files {
		if f.Level == level {
			return f
		}
	}
	return nil
}

// Lookup returns a key's merged value and the file that set it.
func (c *Config) Lookup(section, key string) (string, *ConfigFile, error) {
	for i := len(c.Files) - 1; i >= 0; i-- {
		v, ok, err := c.Files[i].Lookup(section, key)
		if err != nil {
			return "", nil, err
		}
		if ok {
			return v, c.Files[i], nil
		}
	}
	return "", nil, nil
}

// Get returns a key's merged value, or "" (an unreadable value too; Lookup
// says why).
func (c *Config) Get(section, key string) string {
	v, _, _ := c.Lookup(section, key)
	return v
}

// HasSection reports whether any level has the section.
func (c *Config) HasSection(section string) bool {
	for _, f := range c.Files {
		if f.HasSection(section) {
			return true
		}
	}
	return false
}

// Remotes lists the remotes' names, lower-cased, in the order the levels
// first name them.
func (c *Config) Remotes() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range c.Files {
		for _, s := range f.Sections() {
			if name, ok := remoteName(s); ok && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// RemoteSection is the section name of a remote: remote "name".
func RemoteSection(name string) string { return `remote "` + strings.ToLower(name) + `"` }

var remoteSectionRE = regexp.MustCompile(`^\s*remote\s*"(.*)"\s*$`)

func remoteName(section string) (string, bool) {
	m := remoteSectionRE.FindStringSubmatch(section)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Bool reads one of DVC's booleans ("true" or "false", any case); def
// when unset.
func (c *Config) Bool(section, key string, def bool) (bool, error) {
	v, f, err := c.Lookup(section, key)
	if err != nil || f == nil {
		return def, err
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return def, fmt.Errorf("%s: %s.%s = %s: expected true or false", f.Path, section, key, v)
}
