package tracking

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A Filter is a parsed search expression in MLflow's grammar
// (search_runs), as MLflow 2.17.2 accepts and refuses it:
//
//	metrics.rmse < 0.5 and params.model = 'gradient_boosting' and tags.git_commit = 'abc'
//
// Comparisons are joined by AND (any case; an AND with nothing after it
// is ignored); there is no OR and no parentheses. An identifier is
// <type>.<key>, the type in lower case: metric(s), param(s),
// parameter(s), tag(s), attribute(s)/attr/run, dataset(s); a bare name is
// an attribute. The type or the key may be in backticks, the key in double
// quotes. Metrics and the numeric attributes (start_time, its alias
// created, end_time: ms since the epoch) compare with = != > >= < <= to a
// number (-1, .5, 5., 1e3; not +1, inf or nan); params, tags, the string
// attributes (run_id, run_name, status, user_id, artifact_uri) and the
// datasets' name, digest and context with = != LIKE ILIKE to a quoted
// string, taken as written between its quotes. IN and NOT IN take a list
// only for run_id and the datasets' keys. A run lacking the key never
// matches, even for !=. housectl adds one attribute, experiment.
type Filter struct {
	src   string
	terms []term
	// absentDiffers: a missing tag matches != (the model
	// registry's searches, where MLflow 3 filters out prompts with
	// tags.`mlflow.prompt.is_prompt` != 'true').
	absentDiffers bool
	// joined: the last comparison was followed by AND (while parsing).
	joined bool
}

// Kinds of identifier.
const (
	kindMetric  = "metrics"
	kindParam   = "params"
	kindTag     = "tags"
	kindAttr    = "attributes"
	kindDataset = "datasets"
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
	// The attributes MLflow knows (SearchUtils.VALID_SEARCH_ATTRIBUTE_KEYS
	// and its aliases, case as listed), and housectl's experiment.
	numericAttrs = map[string]string{"start_time": "start_time", "end_time": "end_time", "created": "start_time", "Created": "start_time"}
	stringAttrs  = map[string]string{
		"run_id": "run_id", "run_name": "run_name", "run name": "run_name", "Run name": "run_name", "Run Name": "run_name",
		"status": "status", "user_id": "user_id", "artifact_uri": "artifact_uri", "experiment": "experiment",
	}
	datasetKeys = []string{"name", "digest", "context"}
	kindAliases = map[string]string{
		"metric": kindMetric, "metrics": kindMetric,
		"param": kindParam, "params": kindParam, "parameter": kindParam, "parameters": kindParam,
		"tag": kindTag, "tags": kindTag,
		"attribute": kindAttr, "attributes": kindAttr, "attr": kindAttr, "run": kindAttr,
		"dataset": kindDataset, "datasets": kindDataset,
	}
	// numberRE is a numeric literal as sqlparse reads one in a filter.
	numberRE = regexp.MustCompile(`^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`)
)

type lexer struct {
	src string
	pos int
	// experiments: the grammar of search_experiments (experimentAttrs,
	// tags); models: of the registry's searches (modelAttrs, tags).
	experiments, models bool
}

// modelAttrs are the attributes the registry's searches filter on, and
// the stand-in run's fields (MatchModel).
var modelAttrs = map[string]string{"name": "run_name", "run_id": "run_id", "creation_timestamp": "start_time", "last_updated_timestamp": "end_time"}

// experimentAttrs are the attributes search_experiments filters on, and
// the run fields an experiment's stand-in run keeps them in (MatchExperiment).
var experimentAttrs = map[string]string{"name": "run_name", "creation_time": "start_time", "last_update_time": "end_time"}

func (l *lexer) errf(pos int, format string, args ...any) error {
	return &FilterError{Src: l.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) skip() {
	for l.pos < len(l.src) && unicode.IsSpace(rune(l.src[l.pos])) {
		l.pos++
	}
}

func (l *lexer) at(c byte) bool { return l.pos < len(l.src) && l.src[l.pos] == c }

// word reads letters, digits, '_', '-' and, with dots, '.'.
func (l *lexer) word(dots bool) string {
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '_' || c == '-' || dots && c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			l.pos++
			continue
		}
		break
	}
	return l.src[start:l.pos]
}

// quotedName reads a name in backticks or double quotes.
func (l *lexer) quotedName() (string, error) {
	q, start := l.src[l.pos], l.pos
	end := strings.IndexByte(l.src[l.pos+1:], q)
	if end < 0 {
		return "", l.errf(start, "unterminated %c-quoted name", q)
	}
	l.pos += end + 2
	return l.src[start+1 : start+1+end], nil
}

// value reads a string in single or double quotes, as SQL delimits it (a
// doubled quote or a backslash-escaped one does not end it), and returns
// what is between its quotes as written, as MLflow takes it.
func (l *lexer) value() (string, error) {
	q, start := l.src[l.pos], l.pos
	for i := l.pos + 1; i < len(l.src); i++ {
		switch l.src[i] {
		case '\\':
			i++
		case q:
			if i+1 < len(l.src) && l.src[i+1] == q {
				i++
				continue
			}
			l.pos = i + 1
			return l.src[start+1 : i], nil
		}
	}
	return "", l.errf(start, "unterminated %c-quoted string", q)
}

// ParseFilter parses a filter; an empty one matches every run.
func ParseFilter(src string) (*Filter, error) {
	return parseFilter(&lexer{src: src})
}

// ParseExperimentFilter parses a search_experiments filter: the
// attributes name, creation_time and last_update_time, and tags.
func ParseExperimentFilter(src string) (*Filter, error) {
	return parseFilter(&lexer{src: src, experiments: true})
}

// ParseModelFilter parses a filter of search_registered_models or
// search_model_versions: name, run_id, creation_timestamp,
// last_updated_timestamp and tags; a missing tag matches !=.
func ParseModelFilter(src string) (*Filter, error) {
	f, err := parseFilter(&lexer{src: src, models: true})
	if f != nil {
		f.absentDiffers = true
	}
	return f, err
}

// MatchModel reports whether a registered model or version matches a
// filter of ParseModelFilter.
func (f *Filter) MatchModel(name, runID string, created, updated time.Time, tags map[string]string) bool {
	return f.Match(&Run{ID: runID, Name: name, Tags: tags, StartTime: created, EndTime: &updated})
}

// MatchExperiment reports whether an experiment matches a filter of
// ParseExperimentFilter.
func (f *Filter) MatchExperiment(x Experiment) bool {
	upd := x.Updated
	return f.Match(&Run{Name: x.Name, Tags: x.Tags, StartTime: x.Created, EndTime: &upd})
}

func parseFilter(l *lexer) (*Filter, error) {
	src := l.src
	f := &Filter{src: src}
	for {
		// Any number of ANDs may come before a comparison or end the
		// filter: MLflow ignores the empty clauses they make.
		for {
			l.skip()
			at := l.pos
			if w := l.word(false); !strings.EqualFold(w, "AND") || l.pos < len(src) && !unicode.IsSpace(rune(src[l.pos])) && src[l.pos] != '(' {
				l.pos = at
				break
			}
		}
		if l.pos == len(src) {
			return f, nil
		}
		if len(f.terms) > 0 && !f.joined {
			at := l.pos
			if w := l.word(false); strings.EqualFold(w, "OR") {
				return nil, l.errf(at, "OR is not supported (MLflow's filter grammar joins comparisons with AND only)")
			}
			l.pos = at
			return nil, l.errf(at, "expected AND before the next comparison (MLflow's filter grammar joins comparisons with AND)")
		}
		t, err := l.comparison()
		if err != nil {
			return nil, err
		}
		f.terms = append(f.terms, t)
		f.joined = false
		l.skip()
		at := l.pos
		if w := l.word(false); strings.EqualFold(w, "AND") {
			f.joined = true
			continue
		}
		l.pos = at
	}
}

// identifier reads <type>.<key> or a bare attribute name.
func (l *lexer) identifier() (kind, key string, err error) {
	start := l.pos
	if l.at('(') || l.at(')') {
		return "", "", l.errf(l.pos, "parentheses are not supported (AND only)")
	}
	var typ string
	switch {
	case l.at('`'):
		if typ, err = l.quotedName(); err != nil {
			return "", "", err
		}
		if !l.at('.') { // a bare attribute: `run name`
			return l.attr(start, typ)
		}
		l.pos++
	case l.at('"'):
		return "", "", l.errf(l.pos, "a name in double quotes needs a type: metrics.\"key\", params.\"key\" or tags.\"key\"")
	default:
		w := l.word(false)
		if w == "" {
			return "", "", l.errf(l.pos, "expected an identifier such as metrics.rmse, params.model or tags.stage")
		}
		if !l.at('.') {
			return l.attr(start, w)
		}
		typ = w
		l.pos++
	}
	kind, ok := kindAliases[typ]
	if !ok {
		if _, lower := kindAliases[strings.ToLower(typ)]; lower {
			return "", "", l.errf(start, "invalid entity type %q: entity types are lower case (%s.)", typ, strings.ToLower(typ))
		}
		return "", "", l.errf(start, "invalid entity type %q: use metrics., params., tags., attributes. or datasets.", typ)
	}
	keyPos := l.pos
	if l.at('`') || l.at('"') {
		key, err = l.quotedName()
	} else {
		key = l.word(true)
	}
	if err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "", l.errf(keyPos, "expected a key after %q", typ+".")
	}
	if (l.experiments || l.models) && kind != kindAttr && kind != kindTag {
		return "", "", l.errf(start, "invalid entity type %q: experiments are filtered on attributes and tags.", typ)
	}
	switch kind {
	case kindAttr:
		return l.attr(start, key)
	case kindDataset:
		if !slices.Contains(datasetKeys, key) {
			return "", "", l.errf(keyPos, "invalid dataset key %q: use datasets.name, datasets.digest or datasets.context", key)
		}
	}
	return kind, key, nil
}

func (l *lexer) attr(pos int, name string) (string, string, error) {
	if l.models {
		if a, ok := modelAttrs[name]; ok {
			return kindAttr, a, nil
		}
		return "", "", l.errf(pos, "invalid attribute key %q: use name, run_id, creation_timestamp or last_updated_timestamp (or tags.%s)", name, name)
	}
	if l.experiments {
		if a, ok := experimentAttrs[name]; ok {
			return kindAttr, a, nil
		}
		return "", "", l.errf(pos, "invalid attribute key %q: use name, creation_time or last_update_time (or tags.%s)", name, name)
	}
	if a, ok := numericAttrs[name]; ok {
		return kindAttr, a, nil
	}
	if a, ok := stringAttrs[name]; ok {
		return kindAttr, a, nil
	}
	return "", "", l.errf(pos, "invalid attribute key %q: use run_id, run_name, status, user_id, artifact_uri, start_time, end_time or experiment (or metrics.%s, params.%s, tags.%s)", name, name, name, name)
}

func (l *lexer) comparison() (term, error) {
	kind, key, err := l.identifier()
	if err != nil {
		return term{}, err
	}
	t := term{kind: kind, key: key}
	l.skip()
	opPos := l.pos
	rest := l.src[l.pos:]
	switch {
	case strings.HasPrefix(rest, "=="):
		return term{}, l.errf(opPos, "invalid comparator '==': use =")
	case strings.HasPrefix(rest, "!="), strings.HasPrefix(rest, ">="), strings.HasPrefix(rest, "<="):
		t.op = rest[:2]
		l.pos += 2
	case strings.HasPrefix(rest, "<>"):
		return term{}, l.errf(opPos, "invalid comparator '<>': use !=")
	case rest != "" && strings.ContainsRune("=<>", rune(rest[0])):
		t.op = rest[:1]
		l.pos++
	default:
		w := strings.ToUpper(l.word(false))
		if w == "NOT" {
			l.skip()
			next := strings.ToUpper(l.word(false))
			if next != "IN" {
				return term{}, l.errf(opPos, "invalid comparator 'NOT %s': use NOT IN (or != for one value)", next)
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
			return term{}, l.errf(opPos, "invalid comparator %s: %s compares numbers with =, !=, <, <=, > or >=", t.op, t.describe())
		}
		num := numberRE.FindString(l.src[l.pos:])
		end := l.pos + len(num)
		if num == "" || end < len(l.src) && (unicode.IsLetter(rune(l.src[end])) || l.src[end] == '.') {
			return term{}, l.errf(valPos, "%s needs a number such as 0.5, -1 or 1e-3 (not quoted; no +, inf or nan)", t.describe())
		}
		t.num, _ = strconv.ParseFloat(num, 64)
		l.pos = end
		return t, nil
	}
	switch t.op {
	case "=", "!=", "LIKE", "ILIKE":
	case "IN", "NOT IN":
		if kind != kindDataset && !(kind == kindAttr && key == "run_id") {
			return term{}, l.errf(opPos, "only attributes.run_id and datasets.* take a list (IN, NOT IN); use = or LIKE for %s", t.describe())
		}
		return t, l.list(&t)
	default:
		return term{}, l.errf(opPos, "invalid comparator '%s': %s is a string: compare it with =, !=, LIKE or ILIKE", t.op, t.describe())
	}
	if !l.at('\'') && !l.at('"') {
		return term{}, l.errf(valPos, "%s needs a quoted string, e.g. %s = '100' (params and tags are strings)", t.describe(), t.describe())
	}
	if t.str, err = l.value(); err != nil {
		return term{}, err
	}
	if t.op == "LIKE" || t.op == "ILIKE" {
		t.re = likePattern(t.str, t.op == "ILIKE")
	}
	return t, nil
}

func (l *lexer) list(t *term) error {
	l.skip()
	if !l.at('(') {
		return l.errf(l.pos, "%s %s needs a list in parentheses, e.g. ('a', 'b')", t.describe(), t.op)
	}
	l.pos++
	for {
		l.skip()
		if !l.at('\'') && !l.at('"') {
			return l.errf(l.pos, "expected a quoted string in the list")
		}
		s, err := l.value()
		if err != nil {
			return err
		}
		t.list = append(t.list, s)
		l.skip()
		if l.at(',') {
			l.pos++
			continue
		}
		if l.at(')') {
			l.pos++
			return nil
		}
		return l.errf(l.pos, "expected ',' or ')' in the list")
	}
}

func (t term) describe() string {
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
			if f.absentDiffers && t.op == "!=" && t.kind == kindTag {
				if _, ok := r.Tags[t.key]; !ok {
					continue
				}
			}
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
	if t.kind == kindDataset { // any of the run's datasets
		return slices.ContainsFunc(r.Datasets(), func(d Dataset) bool { return t.matchString(d.field(t.key)) })
	}
	s, ok := r.String(t.kind, t.key)
	return ok && t.matchString(s)
}

func (t term) matchString(s string) bool {
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

// Dataset is one of a run's inputs, as MLflow's dataset inputs name
// them: the training file (context "training") and, with --test-data,
// the test file ("testing"); the digest is the file's DVC md5.
type Dataset struct {
	Name, Digest, Context string
}

func (d Dataset) field(key string) string {
	switch key {
	case "name":
		return d.Name
	case "digest":
		return d.Digest
	}
	return d.Context
}

// Datasets are the run's inputs.
func (r *Run) Datasets() []Dataset {
	var out []Dataset
	l := r.Lineage
	base := func(p string) string {
		if p == "" {
			return ""
		}
		return filepath.Base(p)
	}
	if l.DataPath != "" || l.DataMD5 != "" {
		out = append(out, Dataset{Name: base(l.DataPath), Digest: l.DataMD5, Context: "training"})
	}
	if l.TestDataPath != "" || l.TestDataMD5 != "" {
		out = append(out, Dataset{Name: base(l.TestDataPath), Digest: l.TestDataMD5, Context: "testing"})
	}
	return out
}

// ArtifactURI is the run's artifact directory as a file URI, MLflow's
// artifact_uri.
func (r *Run) ArtifactURI() string {
	dir := filepath.Join(r.dir, "artifacts")
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return "file://" + filepath.ToSlash(dir)
}
