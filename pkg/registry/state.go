package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/housectl/housectl/pkg/blob"
	"github.com/housectl/housectl/pkg/seal"
	"github.com/housectl/housectl/pkg/tracking"
)

// HeadFormat is the format number of aliases.json that this code writes;
// a newer one is refused, not misread.
const HeadFormat = 2

// Keys of a model's objects, relative to the registry.
func versionsPrefix(name string) string { return name + "/versions/" }
func versionKey(name string, n int) string {
	return versionsPrefix(name) + strconv.Itoa(n) + ".json"
}
func headKey(name string) string          { return name + "/aliases.json" }
func legacyHistoryKey(name string) string { return name + "/history.jsonl" }

// head is aliases.json (format 2): the aliases and the history that
// leads to them, in one object. Replacing it is the one commit point of
// an alias move.
type head struct {
	Format  int            `json:"format"`
	Aliases map[string]int `json:"aliases"`
	History []Event        `json:"history"`
}

// state is a model's registry, read and checked.
type state struct {
	versions []*Version // by number
	aliases  map[string]int
	history  []Event
	// headTag is aliases.json's ETag ("" if absent): the next move is
	// written only if it is unchanged.
	headTag string
	// legacy: the model is in format 1 (aliases.json as a bare map, with
	// history.jsonl beside it), or history.jsonl is left over from the
	// conversion to format 2. The next locked operation converts it.
	legacy bool
	// recovered says what read repaired in memory from an interrupted
	// format-1 move: the history line that aliases.json lacked (rolled
	// forward), or a part-written last line (dropped).
	recovered string
}

func (s *state) version(n int) *Version {
	i, ok := slices.BinarySearchFunc(s.versions, n, func(v *Version, n int) int { return v.Version - n })
	if !ok {
		return nil
	}
	return s.versions[i]
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// path names a key's file for messages.
func (g *Registry) path(key string) string {
	if s, ok := g.blobs().(*blob.S3); ok {
		return s.B.String() + "/" + key
	}
	return filepath.Join(g.Dir(), filepath.FromSlash(key))
}

// read loads and checks a model's objects; a model without any is empty.
func (g *Registry) read(ctx context.Context, name string) (*state, error) {
	b := g.blobs()
	st := &state{aliases: map[string]int{}}
	infos, err := b.List(ctx, versionsPrefix(name))
	if err != nil {
		return nil, err
	}
	for _, info := range infos {
		v, err := g.readVersion(ctx, name, info.Key)
		if err != nil {
			return nil, err
		}
		st.versions = append(st.versions, v)
	}
	slices.SortFunc(st.versions, func(a, b *Version) int { return a.Version - b.Version })

	hk := headKey(name)
	raw, tag, err := b.Get(ctx, hk)
	switch {
	case errors.Is(err, blob.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		st.headTag = tag
	}
	var top map[string]json.RawMessage
	if raw != nil {
		if err := json.Unmarshal(raw, &top); err != nil {
			return nil, &CorruptError{Path: g.path(hk), Err: err}
		}
	}
	if a := bytes.TrimSpace(top["aliases"]); len(a) > 0 && a[0] == '{' {
		// Format 2. A history.jsonl beside it is what a conversion left
		// behind before deleting it: the head already holds its lines.
		var h head
		if err := strictJSON(raw, &h); err != nil {
			return nil, &CorruptError{Path: g.path(hk), Err: err}
		}
		if h.Format != HeadFormat {
			return nil, &CorruptError{Path: g.path(hk), Err: fmt.Errorf("format %d; this housectl reads format %d: use a newer housectl", h.Format, HeadFormat)}
		}
		if h.Aliases != nil {
			st.aliases = h.Aliases
		}
		st.history = h.History
		if _, _, err := b.Get(ctx, legacyHistoryKey(name)); err == nil {
			st.legacy = true
		} else if !errors.Is(err, blob.ErrNotExist) {
			return nil, err
		}
		if err := g.checkReplay(st, hk, hk); err != nil {
			return nil, err
		}
		return st, nil
	}
	return st, g.readLegacy(ctx, name, st, raw)
}

// readVersion reads and checks one version file.
func (g *Registry) readVersion(ctx context.Context, name, key string) (*Version, error) {
	p := g.path(key)
	num, ok := strings.CutSuffix(path.Base(key), ".json")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 || strconv.Itoa(n) != num || path.Dir(key) != path.Dir(versionKey(name, 1)) {
		return nil, &CorruptError{Path: p, Err: errors.New("not a version file (want versions/<number>.json)")}
	}
	raw, _, err := g.blobs().Get(ctx, key)
	if err != nil {
		return nil, err
	}
	var v Version
	if err := strictJSON(raw, &v); err != nil {
		return nil, &CorruptError{Path: p, Err: err}
	}
	switch {
	case v.Name != name:
		return nil, &CorruptError{Path: p, Err: fmt.Errorf("name %q, but the file belongs to %q", v.Name, name)}
	case v.Version != n:
		return nil, &CorruptError{Path: p, Err: fmt.Errorf("version %d in file %d.json", v.Version, n)}
	case !validSHA256(v.SHA256):
		return nil, &CorruptError{Path: p, Err: fmt.Errorf("sha256 %q is not 64 hex digits", v.SHA256)}
	case v.RunID == "" || v.Artifact == "" || v.Model == "":
		return nil, &CorruptError{Path: p, Err: errors.New("run_id, artifact and model are required")}
	case !filepath.IsLocal(filepath.FromSlash(v.Artifact)):
		return nil, &CorruptError{Path: p, Err: fmt.Errorf("artifact %q leaves the experiments directory", v.Artifact)}
	}
	if v.Seal != "" {
		if want, err := seal.OfJSON(raw); err != nil || v.Seal != want {
			return nil, &CorruptError{Path: p, Err: errors.New("its content does not match its seal: the file was edited after registration")}
		}
	}
	if err := g.checkRun(ctx, &v, p); err != nil {
		return nil, err
	}
	return &v, nil
}

// seal computes the version's seal (its Seal field left out).
func (v *Version) seal() (string, error) {
	c := *v
	c.Seal = ""
	return seal.Sum(&c)
}

// checkRun cross-checks a version against the run it was made from: the
// run's record must still say what the version says (kind, metrics,
// params, lineage, the artifact and its SHA-256). A version edited by
// hand, or a run edited after its registration, is an integrity error.
func (g *Registry) checkRun(ctx context.Context, v *Version, p string) error {
	if g.Store == nil {
		return nil
	}
	dir := filepath.Join(g.Store.Dir, v.Experiment, v.RunID)
	if !filepath.IsLocal(filepath.Join(v.Experiment, v.RunID)) || strings.ContainsAny(v.Experiment+v.RunID, `/\`) {
		return &CorruptError{Path: p, Err: fmt.Errorf("experiment %q and run %q do not name a run", v.Experiment, v.RunID)}
	}
	run, err := g.Store.EnsureRun(ctx, v.Experiment, v.RunID)
	var ae *tracking.ArtifactError
	if errors.As(err, &ae) {
		return err
	}
	if err != nil {
		return &CorruptError{Path: p, Err: fmt.Errorf("its run %s cannot be read to check it: %w", dir, err)}
	}
	bad := func(what string) error {
		return &CorruptError{Path: p, Err: fmt.Errorf("its %s differ from its run's record (%s): one of the two was edited", what, filepath.Join(dir, tracking.RunFile))}
	}
	art, want := "", filepath.ToSlash(filepath.Join(v.Experiment, v.RunID, "artifacts", "model.bin"))
	for _, a := range run.Artifacts {
		if a.Path == "artifacts/model.bin" {
			art = a.SHA256
		}
	}
	if v.Model == tracking.KindExternal {
		// Each file the version holds must still be in the run's record
		// as it was; files logged there since are not the version's.
		art, want = ArtifactDigest(v.Files), v.Artifact
		for _, f := range v.Files {
			if !slices.Contains(run.Artifacts, f) {
				art = "file " + f.Path + " changed"
			}
		}
		if !strings.HasPrefix(v.Artifact, path.Join(v.Experiment, v.RunID, "artifacts")) {
			want = "under its run's artifacts"
		}
	}
	switch {
	case run.Status != tracking.StatusFinished:
		return bad("status (the run is " + run.Status + ")")
	case run.Model != v.Model:
		return bad("model kind")
	case art != v.SHA256 || v.Artifact != want:
		return bad("artifact and its sha256")
	case !sameMetrics(v.Metrics, run.Metrics):
		return bad("metrics")
	case !sameParams(v.Params, run.ParamStrings()):
		return bad("params")
	case v.Lineage != run.Lineage || v.DataMD5 != run.Lineage.DataMD5 || v.TestSet != run.Lineage.TestSet():
		return bad("lineage")
	}
	return nil
}

func sameMetrics(a, b map[string]float64) bool {
	return maps.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

// sameParams compares a version's params (strings, as registered) with
// its run's: equal as text, or as numbers when both are, so a change in
// how params are rendered as text is not mistaken for an edit.
func sameParams(v, run map[string]string) bool {
	if len(v) != len(run) {
		return false
	}
	for k, t := range run {
		s, ok := v[k]
		if !ok {
			return false
		}
		if s == t {
			continue
		}
		x, err1 := strconv.ParseFloat(s, 64)
		y, err2 := strconv.ParseFloat(t, 64)
		if err1 != nil || err2 != nil || x != y {
			return false
		}
	}
	return true
}

// checkReplay checks that the aliases are exactly what the history says
// and that every event names an existing version.
func (g *Registry) checkReplay(st *state, historyKey, aliasesKey string) error {
	replayed := map[string]int{}
	for i, e := range st.history {
		unset := e.Action == ActionUnset
		if err := ValidateAlias(e.Alias); err != nil || unset != (e.To == 0) || !unset && st.version(e.To) == nil || replayed[e.Alias] != e.From ||
			e.Action != ActionPromote && e.Action != ActionRollback && !unset {
			return &CorruptError{Path: g.path(historyKey), Err: fmt.Errorf("history event %d (%s %s: %d → %d) does not follow from the events before it or names a missing version", i+1, e.Action, e.Alias, e.From, e.To)}
		}
		if unset {
			delete(replayed, e.Alias)
			continue
		}
		replayed[e.Alias] = e.To
	}
	for a, v := range st.aliases {
		if err := ValidateAlias(a); err != nil {
			return &CorruptError{Path: g.path(aliasesKey), Err: err}
		}
		if st.version(v) == nil {
			return &CorruptError{Path: g.path(aliasesKey), Err: fmt.Errorf("alias %s → version %d, which does not exist", a, v)}
		}
	}
	if len(replayed) != len(st.aliases) {
		return &CorruptError{Path: g.path(aliasesKey), Err: fmt.Errorf("holds %d alias(es), the history %d", len(st.aliases), len(replayed))}
	}
	for a, v := range replayed {
		if st.aliases[a] != v {
			return &CorruptError{Path: g.path(aliasesKey), Err: fmt.Errorf("alias %s → version %d, but its history ends at version %d", a, st.aliases[a], v)}
		}
	}
	return nil
}

// readLegacy reads format 1: aliases.json as a bare map (raw, nil if
// absent) and history.jsonl beside it.
//
// Format 1 appended the event to history.jsonl (fsync) and then replaced
// aliases.json, so a crash could leave two states that are not hand
// edits, and read recovers both in memory:
//   - the history's last line is complete but aliases.json lacks it: the
//     move was decided and recorded, so it is rolled forward;
//   - the history's last line is part-written (no final newline, not
//     JSON): the append itself was cut, so it is dropped.
//
// Anything else that disagrees is a hand edit and is refused.
func (g *Registry) readLegacy(ctx context.Context, name string, st *state, raw []byte) error {
	hk, ak := legacyHistoryKey(name), headKey(name)
	if raw != nil {
		st.legacy = true
		if err := strictJSON(raw, &st.aliases); err != nil {
			return &CorruptError{Path: g.path(ak), Err: err}
		}
		if st.aliases == nil {
			st.aliases = map[string]int{}
		}
	}
	hraw, _, err := g.blobs().Get(ctx, hk)
	switch {
	case errors.Is(err, blob.ErrNotExist):
		return g.checkReplay(st, hk, ak)
	case err != nil:
		return err
	}
	st.legacy = true
	lines := bytes.SplitAfter(hraw, []byte("\n"))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := strictJSON(line, &e); err != nil {
			if i == len(lines)-1 && !bytes.HasSuffix(line, []byte("\n")) {
				st.recovered = "dropped a part-written last line of " + g.path(hk) + " (an interrupted move)"
				break
			}
			return &CorruptError{Path: g.path(hk), Err: fmt.Errorf("line %d: %w", i+1, err)}
		}
		st.history = append(st.history, e)
	}
	err = g.checkReplay(st, hk, ak)
	if err == nil || len(st.history) == 0 {
		return err
	}
	// The move a crash cut between its two writes: the aliases are the
	// history's replay without its last event, which follows from them.
	last := st.history[len(st.history)-1]
	before := &state{versions: st.versions, aliases: st.aliases, history: st.history[:len(st.history)-1]}
	if g.checkReplay(before, hk, ak) != nil || st.aliases[last.Alias] != last.From || st.version(last.To) == nil {
		return err
	}
	st.aliases = maps.Clone(st.aliases)
	st.aliases[last.Alias] = last.To
	st.recovered = fmt.Sprintf("rolled forward the last move in %s (%s %s → version %d), which %s lacked (an interrupted move)", g.path(hk), last.Action, last.Alias, last.To, g.path(ak))
	return nil
}

// encodeHead writes aliases.json: the aliases, then one history event per
// line, so the file reads (and diffs) well.
func encodeHead(aliases map[string]int, history []Event) []byte {
	var b bytes.Buffer
	a, _ := json.Marshal(aliases)
	fmt.Fprintf(&b, "{\n  \"format\": %d,\n  \"aliases\": %s,\n  \"history\": [", HeadFormat, a)
	for i, e := range history {
		line, _ := json.Marshal(e)
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		b.Write(line)
	}
	if len(history) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("]\n}\n")
	return b.Bytes()
}
