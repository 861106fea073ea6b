package tracking

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A Filter is a parsed search expression in MLflow's grammar
// (search_runs): comparisons joined by AND, no OR, no parentheses.
//
//	metrics.rmse < 0.5 and params.model = 'gradient_boosting' and tags.git_commit = 'abc'
//
// Identifiers are <type>.<key> with type metric(s), param(s),
// parameter(s), tag(s) or attribute(s)/attr/run (a bare name is an
// attribute); keys with other characters go in backticks or double quotes.
// Metrics and numeric attributes (start_time, end_time in ms since the
// epoch) compare with = != > >= < <= against numbers; params, tags and
// string attributes (run_id, run_name, status, experiment, model) with
// = != LIKE ILIKE against quoted strings, and string attributes also with
// IN / NOT IN ('a', 'b'). A run lacking the key never matches, even for !=.
type Filter struct {
	src   string
	terms []term
}

// Kinds of identifier.
const (
	kindMetric = "metrics"
	kindParam  = "params"
	kindTag    = "tags"
	kindAttr   = "attributes"
)

type term struct {
	kind, key string
	op        string // = != > >= < <= LIKE ILIKE IN NOT IN
	num       float64
	str       string
	list      []string
	re        *regexp.Regexp // LIKE / ILIKE
}

// FilterError is a malformed filter: Pos is the byte offset of the problem.
type FilterError struct {
	Src string
	Pos int
	Msg string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("%s at position %d\n  %s\n  %s^", e.Msg, e.Pos+1, e.Src, strings.Repeat(" ", e.Pos))
}

var (
	numericAttrs = map[string]string{"start_time": "start_time", "end_time": "end_time", "created": "start_time"}
	stringAttrs  = map[string]string{
		"run_id": "run_id", "id": "run_id", "run_name": "run_name", "run name": "run_name", "name": "run_name",
		"status": "status", "experiment": "experiment", "model": "model", "user_id": "user_id",
	}
	kindAliases = map[string]string{
		"metric": kindMetric, "metrics": kindMetric,
		"param": kindParam, "params": kindParam, "parameter": kindParam, "parameters": kindParam,
		"tag": kindTag, "tags": kindTag,
		"attribute": kindAttr, "attributes": kindAttr, "attr": kindAttr, "run": kindAttr,
	}
)

type lexer struct {
	src string
	pos int
}

func (l *lexer) errf(pos int, format string, args ...any) error {
	return &FilterError{Src: l.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) skip() {
	for l.pos < len(l.src) && unicode.IsSpace(rune(l.src[l.pos])) {
		l.pos++
	}
}

// word reads letters, digits, '_' and '.' (an identifier or keyword).
func (l *lexer) word() string {
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			l.pos++
			continue
		}
		break
	}
	return l.src[start:l.pos]
}

// quoted reads a string in q quotes (a doubled quote is one quote).
func (l *lexer) quoted() (string, error) {
	q, start := l.src[l.pos], l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		if c == q {
			if l.pos < len(l.src) && l.src[l.pos] == q {
				b.WriteByte(q)
				l.pos++
				continue
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return "", l.errf(start, "unterminated %c-quoted string", q)
}

// ParseFilter parses a filter; an empty one matches every run.
func ParseFilter(src string) (*Filter, error) {
	f := &Filter{src: src}
	l := &lexer{src: src}
	l.skip()
	if l.pos == len(src) {
		return f, nil
	}
	for {
		t, err := l.comparison()
		if err != nil {
			return nil, err
		}
		f.terms = append(f.terms, t)
		l.skip()
		if l.pos == len(src) {
			return f, nil
		}
		at := l.pos
		switch w := l.word(); strings.ToUpper(w) {
		case "AND":
			l.skip()
			if l.pos == len(src) {
				return nil, l.errf(l.pos, "expected a comparison after AND")
			}
		case "OR":
			return nil, l.errf(at, "OR is not supported (MLflow's filter grammar joins comparisons with AND only)")
		case "":
			return nil, l.errf(at, "unexpected %q: join comparisons with AND", src[at:at+1])
		default:
			return nil, l.errf(at, "unexpected %q: join comparisons with AND", w)
		}
	}
}

// identifier reads <type>.<key> or a bare attribute name.
func (l *lexer) identifier() (kind, key string, err error) {
	start := l.pos
	if l.pos < len(l.src) && (l.src[l.pos] == '(' || l.src[l.pos] == ')') {
		return "", "", l.errf(l.pos, "parentheses are not supported (AND only)")
	}
	w := l.word()
	if w == "" {
		if l.pos < len(l.src) && (l.src[l.pos] == '`' || l.src[l.pos] == '"') {
			return "", "", l.errf(l.pos, "a quoted key needs a type: metrics.`key`, params.`key` or tags.`key`")
		}
		return "", "", l.errf(l.pos, "expected an identifier such as metrics.rmse, params.model or tags.stage")
	}
	typ, rest, dotted := strings.Cut(w, ".")
	if !dotted {
		// A bare attribute; MLflow also accepts `run name`.
		name := strings.ToLower(w)
		if name == "run" && strings.HasPrefix(l.src[l.pos:], " name") {
			l.pos += len(" name")
			name = "run name"
		}
		return l.attr(start, name)
	}
	kind, ok := kindAliases[strings.ToLower(typ)]
	if !ok {
		return "", "", l.errf(start, "unknown identifier type %q: use metrics., params., tags. or attributes.", typ)
	}
	if rest == "" && l.pos < len(l.src) && (l.src[l.pos] == '`' || l.src[l.pos] == '"') {
		q := l.src[l.pos]
		if q == '`' {
			end := strings.IndexByte(l.src[l.pos+1:], '`')
			if end < 0 {
				return "", "", l.errf(l.pos, "unterminated backtick-quoted key")
			}
			rest = l.src[l.pos+1 : l.pos+1+end]
			l.pos += end + 2
		} else if rest, err = l.quoted(); err != nil {
			return "", "", err
		}
	}
	if rest == "" {
		return "", "", l.errf(l.pos, "expected a key after %q", typ+".")
	}
	if kind == kindAttr {
		return l.attr(start, strings.ToLower(rest))
	}
	return kind, rest, nil
}

func (l *lexer) attr(pos int, name string) (string, string, error) {
	if a, ok := numericAttrs[name]; ok {
		return kindAttr, a, nil
	}
	if a, ok := stringAttrs[name]; ok {
		return kindAttr, a, nil
	}
	return "", "", l.errf(pos, "unknown attribute %q: use run_id, run_name, status, experiment, model, start_time or end_time (or metrics.%s, params.%s, tags.%s)", name, name, name, name)
}

func (l *lexer) comparison() (term, error) {
	kind, key, err := l.identifier()
	if err != nil {
		return term{}, err
	}
	t := term{kind: kind, key: key}
	l.skip()
	opPos := l.pos
	switch {
	case strings.HasPrefix(l.src[l.pos:], "!="), strings.HasPrefix(l.src[l.pos:], ">="), strings.HasPrefix(l.src[l.pos:], "<="):
		t.op = l.src[l.pos : l.pos+2]
		l.pos += 2
	case strings.HasPrefix(l.src[l.pos:], "=="):
		t.op = "="
		l.pos += 2
	case l.pos < len(l.src) && strings.ContainsRune("=<>", rune(l.src[l.pos])):
		t.op = l.src[l.pos : l.pos+1]
		l.pos++
	default:
		w := strings.ToUpper(l.word())
		if w == "NOT" {
			l.skip()
			if strings.ToUpper(l.word()) != "IN" {
				return term{}, l.errf(opPos, "expected IN after NOT")
			}
			w = "NOT IN"
		}
		switch w {
		case "LIKE", "ILIKE", "IN", "NOT IN":
			t.op = w
		default:
			return term{}, l.errf(opPos, "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)")
		}
	}
	numeric := kind == kindMetric || kind == kindAttr && numericAttrs[key] != ""
	l.skip()
	valPos := l.pos
	if numeric {
		if t.op == "LIKE" || t.op == "ILIKE" || t.op == "IN" || t.op == "NOT IN" {
			return term{}, l.errf(opPos, "%s compares numbers: use =, !=, <, <=, > or >=", t.describe())
		}
		w := l.number()
		v, err := strconv.ParseFloat(w, 64)
		if w == "" || err != nil {
			return term{}, l.errf(valPos, "%s needs a number, e.g. %s < 0.5", t.describe(), t.describe())
		}
		t.num = v
		return t, nil
	}
	switch t.op {
	case "=", "!=", "LIKE", "ILIKE":
	case "IN", "NOT IN":
		if kind != kindAttr {
			return term{}, l.errf(opPos, "IN takes a list only for attributes such as run_id; use = or LIKE for %s", t.describe())
		}
		return t, l.list(&t)
	default:
		return term{}, l.errf(opPos, "%s is a string: compare it with =, !=, LIKE or ILIKE", t.describe())
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '\'' && l.src[l.pos] != '"' {
		return term{}, l.errf(valPos, "%s needs a quoted string, e.g. %s = '100' (params and tags are strings)", t.describe(), t.describe())
	}
	if t.str, err = l.quoted(); err != nil {
		return term{}, err
	}
	if t.op == "LIKE" || t.op == "ILIKE" {
		t.re = likePattern(t.str, t.op == "ILIKE")
	}
	return t, nil
}

func (l *lexer) number() string {
	start := l.pos
	for l.pos < len(l.src) && strings.IndexByte("+-.0123456789eE", l.src[l.pos]) >= 0 {
		l.pos++
	}
	// inf / nan spelled out
	if start == l.pos || l.pos < len(l.src) && unicode.IsLetter(rune(l.src[l.pos])) {
		l.pos = start
		w := l.word()
		if lw := strings.ToLower(w); lw == "inf" || lw == "nan" || lw == "infinity" {
			return w
		}
		return ""
	}
	return l.src[start:l.pos]
}

func (l *lexer) list(t *term) error {
	l.skip()
	if l.pos >= len(l.src) || l.src[l.pos] != '(' {
		return l.errf(l.pos, "%s %s needs a list in parentheses, e.g. ('a', 'b')", t.describe(), t.op)
	}
	l.pos++
	for {
		l.skip()
		if l.pos >= len(l.src) || l.src[l.pos] != '\'' && l.src[l.pos] != '"' {
			return l.errf(l.pos, "expected a quoted string in the list")
		}
		s, err := l.quoted()
		if err != nil {
			return err
		}
		t.list = append(t.list, s)
		l.skip()
		if l.pos < len(l.src) && l.src[l.pos] == ',' {
			l.pos++
			continue
		}
		if l.pos < len(l.src) && l.src[l.pos] == ')' {
			l.pos++
			return nil
		}
		return l.errf(l.pos, "expected ',' or ')' in the list")
	}
}

func (t term) describe() string {
	if t.kind == kindAttr {
		return "attributes." + t.key
	}
	return t.kind + "." + t.key
}

// likePattern turns SQL LIKE (% any run, _ one character) into a regexp.
func likePattern(p string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteByte('^')
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteByte('$')
	return regexp.MustCompile(b.String())
}

// Match reports whether the run satisfies every comparison.
func (f *Filter) Match(r *Run) bool {
	for _, t := range f.terms {
		if !t.match(r) {
			return false
		}
	}
	return true
}

// String is the source text.
func (f *Filter) String() string { return f.src }

func (t term) match(r *Run) bool {
	if t.kind == kindMetric || t.kind == kindAttr && numericAttrs[t.key] != "" {
		v, ok := r.number(t.kind, t.key)
		if !ok {
			return false
		}
		switch t.op {
		case "=":
			return v == t.num
		case "!=":
			return v != t.num
		case "<":
			return v < t.num
		case "<=":
			return v <= t.num
		case ">":
			return v > t.num
		default:
			return v >= t.num
		}
	}
	s, ok := r.String(t.kind, t.key)
	if !ok {
		return false
	}
	switch t.op {
	case "=":
		return s == t.str
	case "!=":
		return s != t.str
	case "LIKE", "ILIKE":
		return t.re.MatchString(s)
	case "IN":
		return slices.Contains(t.list, s)
	default: // NOT IN
		return !slices.Contains(t.list, s)
	}
}

// number returns a metric or numeric attribute of the run.
func (r *Run) number(kind, key string) (float64, bool) {
	if kind == kindMetric {
		v, ok := r.Metrics[key]
		return v, ok
	}
	switch key {
	case "start_time":
		return float64(r.StartTime.UnixMilli()), true
	case "end_time":
		if r.EndTime == nil {
			return 0, false
		}
		return float64(r.EndTime.UnixMilli()), true
	}
	return 0, false
}

// String returns a param, tag or string attribute of the run as MLflow
// would show it: params as strings (numbers in their shortest form, lists
// and objects as JSON); the model kind is params.model too; lineage shows
// up as tags (git_commit, git_branch, git_dirty, data_md5, ...) unless a
// user tag of that name exists.
func (r *Run) String(kind, key string) (string, bool) {
	switch kind {
	case kindParam:
		return r.Param(key)
	case kindTag:
		v, ok := r.AllTags()[key]
		return v, ok
	}
	switch key {
	case "run_id":
		return r.ID, true
	case "run_name":
		return r.Name, true
	case "status":
		return r.Status, true
	case "experiment":
		return r.Experiment, true
	case "model":
		return r.Model, true
	case "user_id":
		return r.Lineage.User, r.Lineage.User != ""
	}
	return "", false
}

// Param returns a parameter as MLflow stores it (see String).
func (r *Run) Param(key string) (string, bool) {
	v, ok := r.Params[key]
	if !ok && key == "model" {
		return r.Model, true
	}
	return v, ok
}

// ParamStrings returns every parameter, with model.
func (r *Run) ParamStrings() map[string]string {
	out := make(map[string]string, len(r.Params)+1)
	maps.Copy(out, r.Params)
	if _, ok := out["model"]; !ok {
		out["model"] = r.Model
	}
	return out
}

// AllTags returns the user's tags plus the lineage as system tags.
func (r *Run) AllTags() map[string]string {
	out := map[string]string{}
	l := r.Lineage
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("git_commit", l.GitCommit)
	set("git_branch", l.GitBranch)
	if l.GitCommit != "" {
		set("git_dirty", strconv.FormatBool(l.GitDirty))
	}
	set("data_md5", l.DataMD5)
	set("data_path", l.DataPath)
	set("test_data_md5", l.TestDataMD5)
	set("config_sha256", l.ConfigSHA256)
	set("housectl_version", l.Version)
	set("host", l.Host)
	set("user", l.User)
	set("mlflow.source.git.commit", l.GitCommit)
	set("mlflow.source.git.branch", l.GitBranch)
	set("mlflow.runName", r.Name)
	set("mlflow.user", l.User)
	for k, v := range r.Tags {
		out[k] = v
	}
	return out
}

// OrderBy is one sort key: an identifier as in filters, ascending unless
// Desc.
type OrderBy struct {
	kind, key string
	Desc      bool
}

// ParseOrderBy parses "metrics.rmse", "metrics.rmse DESC",
// "attributes.start_time ASC", ...
func ParseOrderBy(src string) (OrderBy, error) {
	l := &lexer{src: src}
	l.skip()
	kind, key, err := l.identifier()
	if err != nil {
		return OrderBy{}, err
	}
	o := OrderBy{kind: kind, key: key}
	l.skip()
	at := l.pos
	switch w := strings.ToUpper(l.word()); w {
	case "", "ASC":
	case "DESC":
		o.Desc = true
	default:
		return OrderBy{}, l.errf(at, "expected ASC or DESC, got %q", w)
	}
	l.skip()
	if l.pos != len(src) {
		return OrderBy{}, l.errf(l.pos, "unexpected text after the sort key")
	}
	return o, nil
}

// SortRuns orders runs as MLflow does: the base order is start_time DESC,
// run_id ASC; then each key, applied as stable sorts from last to first.
// Missing and NaN values sort last in both directions.
func SortRuns(runs []*Run, keys []OrderBy) {
	slices.SortStableFunc(runs, func(a, b *Run) int {
		if c := b.StartTime.Compare(a.StartTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		numeric := k.kind == kindMetric || k.kind == kindAttr && numericAttrs[k.key] != ""
		slices.SortStableFunc(runs, func(a, b *Run) int {
			if numeric {
				va, oka := a.number(k.kind, k.key)
				vb, okb := b.number(k.kind, k.key)
				oka, okb = oka && !math.IsNaN(va), okb && !math.IsNaN(vb)
				if c := missingLast(oka, okb); c != 0 || !oka {
					return c
				}
				if k.Desc {
					return cmp.Compare(vb, va)
				}
				return cmp.Compare(va, vb)
			}
			sa, oka := a.String(k.kind, k.key)
			sb, okb := b.String(k.kind, k.key)
			if c := missingLast(oka, okb); c != 0 || !oka {
				return c
			}
			if k.Desc {
				return strings.Compare(sb, sa)
			}
			return strings.Compare(sa, sb)
		})
	}
}

func missingLast(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// Search lists the runs of experiment ("" for all) that match the filter,
// sorted, at most limit (0: all). Unreadable runs come back as errors.
func (s *Store) Search(experiment string, f *Filter, order []OrderBy, limit int) ([]*Run, []error) {
	runs, errs := s.List(experiment)
	if f != nil && len(f.terms) > 0 {
		kept := runs[:0]
		for _, r := range runs {
			if f.Match(r) {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	SortRuns(runs, order)
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	return runs, errs
}
