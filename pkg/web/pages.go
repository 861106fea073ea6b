package web

// The pages: server-rendered HTML (html/template, embedded), so 10,000
// runs are filtered, sorted and paged on the server and the browser gets
// one page of rows. Every control is a link, a form or a native input:
// the pages work from the keyboard and without JavaScript, and app.js
// only adds conveniences.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// assetVersion changes with the assets, so browsers may cache them for
// long.
var assetVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assetFS.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

var templates = func() map[string]*template.Template {
	funcs := template.FuncMap{}
	out := map[string]*template.Template{}
	for _, name := range []string{"runs", "run", "compare", "models", "model", "confirm", "monitor", "login"} {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// base is what every page's layout needs.
type base struct {
	Title, Section, Store string
	ReadOnly              bool
	AssetVersion          string
}

func (s *Server) base(title, section string) base {
	return base{Title: title, Section: section, Store: s.store.URL(), ReadOnly: s.o.ReadOnly, AssetVersion: assetVersion}
}

// render writes a page, or a plain error if the template fails.
func (s *Server) render(w http.ResponseWriter, name string, status int, data any) {
	var buf bytes.Buffer
	if err := templates[name].ExecuteTemplate(&buf, name+".html", data); err != nil {
		s.o.Logger.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/runs", http.StatusFound) })
	mux.HandleFunc("GET /static/{file}", serveAsset)
	mux.HandleFunc("GET /runs", s.runsPage)
	mux.HandleFunc("GET /runs/{id}", s.runPage)
	mux.HandleFunc("GET /runs/{id}/artifacts/{path...}", s.runArtifact)
	mux.HandleFunc("GET /compare", s.comparePage)
	mux.HandleFunc("GET /models", s.modelsPage)
	mux.HandleFunc("GET /models/{name}", s.modelPage)
	mux.HandleFunc("GET /models/{name}/promote", s.confirmPromote)
	mux.HandleFunc("POST /models/{name}/promote", s.doPromote)
	mux.HandleFunc("GET /models/{name}/rollback", s.confirmRollback)
	mux.HandleFunc("POST /models/{name}/rollback", s.doRollback)
	mux.HandleFunc("GET /monitor", s.monitorPage)
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}

// expNames maps experiment directories to their names.
type expNames map[string]string

func (n expNames) of(dir string) string {
	if name, ok := n[dir]; ok {
		return name
	}
	return dir
}

func (s *Server) experimentNames() expNames { return s.store.ExperimentNames() }

// pageSize is the runs per page.
const pageSize = 50

type header struct {
	Label, Href, Sorted string
	Num                 bool
}

type cell struct {
	Text string
	Num  bool
}

type runRow struct {
	ID, Short, Name, Experiment, Status, Model, Start string
	Cells                                             []cell
}

type keyOn struct {
	Key string
	On  bool
}

type runsData struct {
	base
	Filter, FilterError, Caret, Order, View, ColsParam string
	Cols                                               []string
	MetricKeys, ParamKeys                              []keyOn
	Headers                                            []header
	Rows                                               []runRow
	Total, All, Page, Pages, Span                      int
	Prev, Next, Elapsed                                string
	Problems                                           []string
}

func short(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 8 {
		return id[:8] + "…" + id[i:]
	}
	return id
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// runsPage is the runs table: MLflow's filter, sortable columns, a column
// chooser, pages of 50 cut on the server.
func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	if err := s.refresh(false); err != nil {
		http.Error(w, "reading the runs: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	d := runsData{base: s.base("Runs", "runs"), Filter: q.Get("filter"), Order: q.Get("order"), View: q.Get("view")}
	if d.View == "" {
		d.View = "active"
	}
	query := tracking.Query{View: map[string]tracking.View{"deleted": tracking.DeletedOnly, "all": tracking.AllRuns}[d.View]}
	// A malformed filter is shown under the box; the page itself is fine
	// (200), as MLflow's is.
	if f, err := tracking.ParseFilter(d.Filter); err != nil {
		d.FilterError = filterMessage(err)
		var fe *tracking.FilterError
		if errors.As(err, &fe) {
			d.Caret = strings.Repeat(" ", fe.Pos)
		}
	} else {
		query.Filter = f
	}
	if d.Order != "" {
		for part := range strings.SplitSeq(d.Order, ",") {
			o, err := tracking.ParseOrderBy(strings.TrimSpace(part))
			if err != nil {
				d.FilterError = "order by: " + filterMessage(err)
				break
			}
			query.Order = append(query.Order, o)
		}
	}
	var matched []*tracking.Run
	if d.FilterError == "" {
		matched, _ = s.catalog.Search(query)
	}
	d.All = len(s.catalog.Runs())
	d.Total = len(matched)
	// The columns: the chooser's, else the common metrics present.
	cols := q["col"]
	if len(cols) == 0 && q.Get("cols") != "" {
		cols = strings.Split(q.Get("cols"), ",")
	}
	metricKeys, paramKeys := keysOf(matched)
	if len(cols) == 0 {
		for _, k := range []string{"rmse", "mae", "r2"} {
			if slices.Contains(metricKeys, k) {
				cols = append(cols, "metrics."+k)
			}
		}
		if len(cols) == 0 {
			for _, k := range metricKeys[:min(3, len(metricKeys))] {
				cols = append(cols, "metrics."+k)
			}
		}
	}
	d.Cols, d.ColsParam = cols, strings.Join(cols, ",")
	for _, k := range metricKeys {
		d.MetricKeys = append(d.MetricKeys, keyOn{k, slices.Contains(cols, "metrics."+k)})
	}
	for _, k := range paramKeys {
		d.ParamKeys = append(d.ParamKeys, keyOn{k, slices.Contains(cols, "params."+k)})
	}
	link := func(mod func(url.Values)) string {
		v := url.Values{}
		for _, k := range []string{"filter", "order", "view"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		if d.ColsParam != "" {
			v.Set("cols", d.ColsParam)
		}
		mod(v)
		return "/runs?" + v.Encode()
	}
	sortable := func(label, key string, num bool) header {
		h := header{Label: label, Num: num}
		next := key + " ASC"
		switch strings.ToUpper(strings.TrimSpace(d.Order)) {
		case strings.ToUpper(key + " ASC"), strings.ToUpper(key):
			h.Sorted, next = "ascending", key+" DESC"
		case strings.ToUpper(key + " DESC"):
			h.Sorted = "descending"
		}
		h.Href = link(func(v url.Values) { v.Set("order", next); v.Del("page") })
		return h
	}
	d.Headers = []header{
		sortable("Run", "attributes.run_name", false), sortable("Experiment", "attributes.experiment", false),
		sortable("Status", "attributes.status", false), sortable("Model", "params.model", false),
		sortable("Started (UTC)", "attributes.start_time", false),
	}
	for _, c := range cols {
		kind, key, _ := strings.Cut(c, ".")
		d.Headers = append(d.Headers, sortable(key, kind+".`"+key+"`", kind == "metrics"))
	}
	d.Span = len(d.Headers) + 1
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	d.Page = min(max(1, atoi(q.Get("page"), 1)), d.Pages)
	lo := (d.Page - 1) * pageSize
	page := matched[min(lo, len(matched)):min(lo+pageSize, len(matched))]
	names := s.experimentNames()
	for _, run := range page {
		row := runRow{ID: run.ID, Short: short(run.ID), Name: run.Name, Experiment: names.of(run.Experiment), Status: run.DisplayStatus(), Model: run.Model, Start: fmtTime(run.StartTime)}
		for _, c := range cols {
			kind, key, _ := strings.Cut(c, ".")
			switch kind {
			case "metrics":
				if v, ok := run.Metrics[key]; ok {
					row.Cells = append(row.Cells, cell{num(v), true})
				} else {
					row.Cells = append(row.Cells, cell{"", true})
				}
			default:
				v, _ := run.Param(key)
				row.Cells = append(row.Cells, cell{v, false})
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if d.Page > 1 {
		d.Prev = link(func(v url.Values) { v.Set("page", strconv.Itoa(d.Page-1)) })
	}
	if d.Page < d.Pages {
		d.Next = link(func(v url.Values) { v.Set("page", strconv.Itoa(d.Page+1)) })
	}
	for _, e := range s.catalog.Errors() {
		d.Problems = append(d.Problems, e.Error())
	}
	d.Elapsed = fmt.Sprintf("%d of %d runs matched in %s", d.Total, d.All, time.Since(t0).Round(100*time.Microsecond))
	s.render(w, "runs", http.StatusOK, d)
}

func filterMessage(err error) string {
	var fe *tracking.FilterError
	if errors.As(err, &fe) {
		return fmt.Sprintf("%s (at position %d)", fe.Msg, fe.Pos+1)
	}
	return err.Error()
}

func atoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// keysOf lists the metric and param keys of runs, sorted.
func keysOf(runs []*tracking.Run) (metrics, params []string) {
	ms, ps := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			ms[k] = true
		}
		for k := range r.Params {
			ps[k] = true
		}
	}
	if len(runs) > 0 {
		ps["model"] = true // every run has a model kind
	}
	return slices.Sorted(maps.Keys(ms)), slices.Sorted(maps.Keys(ps))
}

type kv struct{ Key, Value string }

type metricRow struct {
	Key, Value string
	Folds      []string
}

type artifactRow struct {
	Path, Href, SHA256 string
	Size               int64
}

type runData struct {
	base
	Run                    *tracking.Run
	Metrics                []metricRow
	FoldNames              []string
	Params, Lineage, Times []kv
	Tags                   []kv
	Artifacts, Images      []artifactRow
	Charts                 []template.HTML
	Error, ExperimentName  string
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	run, err := s.run(r.PathValue("id"))
	if err != nil {
		s.notFoundPage(w, "No run has id "+r.PathValue("id")+".")
		return
	}
	d := runData{base: s.base(run.Name, "runs"), Run: run, Error: run.Error, ExperimentName: s.experimentNames().of(run.Experiment)}
	for i := range run.CV {
		d.FoldNames = append(d.FoldNames, fmt.Sprintf("fold %d", i+1))
	}
	for _, k := range slices.Sorted(maps.Keys(run.Metrics)) {
		m := metricRow{Key: k, Value: num(run.Metrics[k])}
		if !strings.HasPrefix(k, "cv_") {
			for _, f := range run.CV {
				if v, ok := f[k]; ok {
					m.Folds = append(m.Folds, num(v))
				} else {
					m.Folds = append(m.Folds, "")
				}
			}
		}
		d.Metrics = append(d.Metrics, m)
	}
	for _, k := range slices.Sorted(maps.Keys(run.ParamStrings())) {
		v, _ := run.Param(k)
		d.Params = append(d.Params, kv{k, v})
	}
	l := run.Lineage
	add := func(list *[]kv, k, v string) {
		if v != "" && v != "0" {
			*list = append(*list, kv{k, v})
		}
	}
	add(&d.Lineage, "data", l.DataPath)
	add(&d.Lineage, "data md5 (DVC)", l.DataMD5)
	add(&d.Lineage, "data rows", strconv.Itoa(l.DataRows))
	add(&d.Lineage, "test data", l.TestDataPath)
	add(&d.Lineage, "test data md5", l.TestDataMD5)
	if l.TestFraction > 0 {
		add(&d.Lineage, "test split", fmt.Sprintf("%v of the rows (%d), seed %d", l.TestFraction, l.TestRows, l.Seed))
	} else if run.Model != tracking.KindExternal {
		add(&d.Lineage, "seed", strconv.FormatUint(l.Seed, 10))
	}
	add(&d.Lineage, "config sha256", l.ConfigSHA256)
	if l.GitCommit != "" {
		dirty := ""
		if l.GitDirty {
			dirty = " (uncommitted changes)"
		}
		add(&d.Lineage, "git", l.GitCommit+" on "+l.GitBranch+dirty)
	}
	add(&d.Lineage, "housectl", l.Version)
	add(&d.Lineage, "go", l.GoVersion)
	if run.Model == tracking.KindExternal {
		add(&d.Lineage, "recorded by", "MLflow's tracking API (an external run)")
		add(&d.Lineage, "source", run.Tags["mlflow.source.name"])
		add(&d.Lineage, "git", run.Tags["mlflow.source.git.commit"])
	}
	add(&d.Times, "started", fmtTime(run.StartTime))
	if run.EndTime != nil {
		add(&d.Times, "ended", fmtTime(*run.EndTime))
		add(&d.Times, "duration", run.EndTime.Sub(run.StartTime).Round(time.Millisecond).String())
	}
	add(&d.Times, "user", l.User)
	add(&d.Times, "host", l.Host)
	add(&d.Times, "pid", strconv.Itoa(l.PID))
	for _, k := range slices.Sorted(maps.Keys(run.Tags)) {
		if k != "mlflow.log-model.history" {
			d.Tags = append(d.Tags, kv{k, run.Tags[k]})
		}
	}
	for _, a := range run.Artifacts {
		rel := strings.TrimPrefix(a.Path, "artifacts/")
		row := artifactRow{Path: a.Path, Href: "/runs/" + run.ID + "/artifacts/" + rel, SHA256: a.SHA256, Size: a.Size}
		d.Artifacts = append(d.Artifacts, row)
		if ext := strings.ToLower(path.Ext(rel)); ext == ".png" || ext == ".svg" || ext == ".jpg" {
			d.Images = append(d.Images, row)
		}
	}
	d.Charts = s.runCharts(run)
	s.render(w, "run", http.StatusOK, d)
}

// runCharts draws a boosting run's loss per iteration, and each metric
// an external run logged more than once.
func (s *Server) runCharts(run *tracking.Run) []template.HTML {
	var out []template.HTML
	if b, err := os.ReadFile(filepath.Join(run.Dir(), "history.json")); err == nil {
		var h struct {
			Train []float64  `json:"train_loss"`
			Valid []*float64 `json:"valid_loss"`
		}
		if json.Unmarshal(b, &h) == nil && len(h.Train) > 0 {
			tr := series{Name: "train"}
			va := series{Name: "validation"}
			for i, v := range h.Train {
				tr.X, tr.Y = append(tr.X, float64(i+1)), append(tr.Y, v)
				if i < len(h.Valid) && h.Valid[i] != nil {
					va.X, va.Y = append(va.X, float64(i+1)), append(va.Y, *h.Valid[i])
				}
			}
			ss := []series{tr}
			if len(va.X) > 0 {
				ss = append(ss, va)
			}
			out = append(out, lineChart("loss per iteration", "iteration", "half squared error", ss))
		}
	}
	if run.Model == tracking.KindExternal {
		keys := make([]string, 0, len(run.Latest))
		for _, m := range run.Latest {
			keys = append(keys, m.Key)
		}
		slices.Sort(keys)
		for _, k := range keys[:min(len(keys), 12)] {
			h, err := s.store.History(run, k)
			if err != nil || len(h) < 2 {
				continue
			}
			se := series{Name: k}
			for i, p := range h {
				x := float64(p.Step)
				if allZeroSteps(h) {
					x = float64(i)
				}
				se.X, se.Y = append(se.X, x), append(se.Y, p.Value)
			}
			out = append(out, lineChart(k, "step", k, []series{se}))
		}
	}
	return out
}

func allZeroSteps(h []tracking.MetricPoint) bool {
	return !slices.ContainsFunc(h, func(p tracking.MetricPoint) bool { return p.Step != 0 })
}

func (s *Server) runArtifact(w http.ResponseWriter, r *http.Request) {
	run, err := s.run(r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	rel := r.PathValue("path")
	ctype := ""
	if ext := path.Ext(rel); ext != ".png" && ext != ".jpg" && ext != ".json" && ext != ".txt" {
		w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(path.Base(rel)))
		ctype = "application/octet-stream"
	}
	s.serveArtifact(w, r, run, "artifacts/"+rel, ctype)
}

func (s *Server) notFoundPage(w http.ResponseWriter, msg string) {
	s.render(w, "confirm", http.StatusNotFound, confirmData{base: s.base("Not found", ""), Heading: "Not found", Question: msg, Back: "/runs"})
}

type compareRun struct {
	ID, Short, Name, Model, Status string
}

type compareCell struct {
	Text, Delta, Way string
	Best             bool
}

type compareRow struct {
	Key   string
	Cells []compareCell
}

type compareData struct {
	base
	Runs                  []compareRun
	Missing               []string
	MetricRows, ParamRows []compareRow
	MetricKeys, ParamKeys []string
	Metric, X             string
	Bars                  []template.HTML
	Parallel, Scatter     template.HTML
}

// comparePage lays the ticked runs side by side, as runs compare does,
// with charts.
func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) {
	if err := s.refresh(false); err != nil {
		http.Error(w, "reading the runs: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	d := compareData{base: s.base("Compare", "runs")}
	var runs []*tracking.Run
	for _, id := range q["run"] {
		if run := s.catalog.Get(id); run != nil {
			if !slices.Contains(runs, run) {
				runs = append(runs, run)
			}
		} else {
			d.Missing = append(d.Missing, id)
		}
	}
	if len(runs) == 0 {
		s.render(w, "compare", http.StatusBadRequest, d)
		return
	}
	// Labels number the runs: two runs often share a name.
	labels := make([]string, len(runs))
	for i, run := range runs {
		labels[i] = strconv.Itoa(i+1) + ". " + run.Name
		d.Runs = append(d.Runs, compareRun{ID: run.ID, Short: short(run.ID), Name: labels[i], Model: run.Model, Status: run.DisplayStatus()})
	}
	c := tracking.Compare(runs, labels, s.now())
	d.MetricKeys = slices.Sorted(maps.Keys(c.Metrics))
	d.ParamKeys = slices.Sorted(maps.Keys(c.Params))
	for _, k := range d.MetricKeys {
		vs := c.Metrics[k]
		if !tracking.Differs(vs) {
			continue
		}
		row := compareRow{Key: k}
		for i, v := range vs {
			cl := compareCell{Best: c.Best[k] == runs[i].ID}
			if v != nil {
				cl.Text = num(*v)
			}
			if dv := c.Deltas[k][i]; dv != nil {
				cl.Delta = fmt.Sprintf("%+.4g", *dv)
				worse := *dv > 0 == tracking.LowerIsBetter(k)
				cl.Way = map[bool]string{true: "worse", false: "better"}[worse && *dv != 0]
			}
			row.Cells = append(row.Cells, cl)
		}
		d.MetricRows = append(d.MetricRows, row)
	}
	var differing []string
	for _, k := range d.ParamKeys {
		vs := c.Params[k]
		if !tracking.Differs(vs) {
			continue
		}
		differing = append(differing, k)
		row := compareRow{Key: k}
		for _, v := range vs {
			cl := compareCell{}
			if v != nil {
				cl.Text = *v
			}
			row.Cells = append(row.Cells, cl)
		}
		d.ParamRows = append(d.ParamRows, row)
	}
	d.Metric = q.Get("metric")
	if !slices.Contains(d.MetricKeys, d.Metric) {
		d.Metric = ""
		for _, k := range []string{"rmse", "mae"} {
			if slices.Contains(d.MetricKeys, k) && d.Metric == "" {
				d.Metric = k
			}
		}
		if d.Metric == "" && len(d.MetricKeys) > 0 {
			d.Metric = d.MetricKeys[0]
		}
	}
	// The charts' params: those with two or more values among the runs
	// that set them, the most varied first.
	varied := slices.DeleteFunc(slices.Clone(differing), func(k string) bool { return distinct(c.Params[k]) < 2 })
	slices.SortStableFunc(varied, func(a, b string) int { return distinct(c.Params[b]) - distinct(c.Params[a]) })
	varied = varied[:min(len(varied), 8)]
	d.X = q.Get("x")
	if !slices.Contains(d.ParamKeys, d.X) {
		d.X = ""
		for _, k := range varied {
			if _, ok := parseOpt(firstSet(c.Params[k])); ok {
				d.X = k
				break
			}
		}
		if d.X == "" && len(varied) > 0 {
			d.X = varied[0]
		}
	}
	// Metrics per run: the chosen one, then every other differing one.
	barKeys := []string{d.Metric}
	for _, row := range d.MetricRows {
		if row.Key != d.Metric && len(barKeys) < 6 {
			barKeys = append(barKeys, row.Key)
		}
	}
	for _, k := range barKeys {
		if k == "" {
			continue
		}
		var bars []bar
		for i, run := range runs {
			if v := c.Metrics[k][i]; v != nil {
				bars = append(bars, bar{Label: labels[i], Value: *v, Best: c.Best[k] == run.ID})
			}
		}
		d.Bars = append(d.Bars, barChart(k, bars))
	}
	if d.Metric != "" {
		var axes []pcAxis
		for _, k := range varied {
			a := pcAxis{Name: k}
			for _, v := range c.Params[k] {
				a.Values = append(a.Values, derefOr(v, ""))
			}
			axes = append(axes, a)
		}
		m := pcAxis{Name: d.Metric}
		metric := make([]float64, len(runs))
		for i, v := range c.Metrics[d.Metric] {
			metric[i] = math.NaN()
			if v != nil {
				m.Values = append(m.Values, strconv.FormatFloat(*v, 'g', -1, 64))
				metric[i] = *v
			} else {
				m.Values = append(m.Values, "")
			}
		}
		axes = append(axes, m)
		d.Parallel = parallel("params against "+d.Metric, axes, labels, metric, tracking.LowerIsBetter(d.Metric))
		if d.X != "" {
			var pts []point
			for i, run := range runs {
				xv, ok1 := parseOpt(c.Params[d.X][i])
				yv := c.Metrics[d.Metric][i]
				if ok1 && yv != nil {
					pts = append(pts, point{Label: run.Name, X: xv, Y: *yv})
				}
			}
			d.Scatter = scatter(d.X+" against "+d.Metric, d.X, d.Metric, pts)
		}
	}
	s.render(w, "compare", http.StatusOK, d)
}

// distinct counts the different values that are set.
func distinct(vs []*string) int {
	seen := map[string]bool{}
	for _, v := range vs {
		if v != nil {
			seen[*v] = true
		}
	}
	return len(seen)
}

func firstSet(vs []*string) *string {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

func derefOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func parseOpt(p *string) (float64, bool) {
	if p == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(*p, 64)
	return v, err == nil
}

type modelSummary struct {
	Name, Description string
	Count             int
	Aliases           []aliasRow
}

type aliasRow struct {
	Alias   string
	Version int
	Since   string
}

type modelsData struct {
	base
	Models []modelSummary
}

func (s *Server) modelsPage(w http.ResponseWriter, r *http.Request) {
	names, err := s.reg.ModelNames(r.Context())
	if err != nil {
		http.Error(w, "reading the registry: "+err.Error(), http.StatusInternalServerError)
		return
	}
	d := modelsData{base: s.base("Registry", "models")}
	for _, n := range names {
		rm, err := s.readModel(r.Context(), n)
		if err != nil {
			d.Models = append(d.Models, modelSummary{Name: n, Description: "unreadable: " + err.Error()})
			continue
		}
		ms := modelSummary{Name: n}
		if rm.meta != nil {
			ms.Description = rm.meta.Description
		}
		if rm.model != nil {
			ms.Count = len(rm.model.Versions)
			for _, a := range slices.Sorted(maps.Keys(rm.model.Aliases)) {
				ms.Aliases = append(ms.Aliases, aliasRow{Alias: a, Version: rm.model.Aliases[a]})
			}
		}
		d.Models = append(d.Models, ms)
	}
	s.render(w, "models", http.StatusOK, d)
}

type versionRow struct {
	Version                                          int
	Aliases                                          []string
	RunID, RunShort, Model, Metric, Created, DataMD5 string
}

type historyRow struct {
	Time, User, Action, Alias, From, To, Reason string
}

type modelData struct {
	base
	Name, Description, Metric, Flash, FlashClass string
	Aliases                                      []aliasRow
	History                                      []historyRow
	Versions                                     []versionRow
	Timeline                                     template.HTML
	Monitor                                      bool
}

func (s *Server) modelPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		s.notFoundPage(w, err.Error())
		return
	}
	d := modelData{base: s.base(name, "models"), Name: name, Metric: s.metric(), Monitor: s.o.Log != nil}
	if f := r.URL.Query().Get("done"); f != "" {
		d.Flash, d.FlashClass = f, "ok"
	}
	if f := r.URL.Query().Get("refused"); f != "" {
		d.Flash, d.FlashClass = f, "error"
	}
	if rm.meta != nil {
		d.Description = rm.meta.Description
	}
	if rm.model == nil {
		s.render(w, "model", http.StatusOK, d)
		return
	}
	m := rm.model
	since := map[string]time.Time{}
	for _, e := range m.History {
		since[e.Alias] = e.Time
	}
	for _, a := range slices.Sorted(maps.Keys(m.Aliases)) {
		d.Aliases = append(d.Aliases, aliasRow{Alias: a, Version: m.Aliases[a], Since: fmtTime(since[a])})
	}
	for i := len(m.History) - 1; i >= 0; i-- {
		e := m.History[i]
		from, to := "unset", "unset"
		if e.From > 0 {
			from = "v" + strconv.Itoa(e.From)
		}
		if e.To > 0 {
			to = "v" + strconv.Itoa(e.To)
		}
		d.History = append(d.History, historyRow{Time: fmtTime(e.Time), User: e.User, Action: e.Action, Alias: e.Alias, From: from, To: to, Reason: e.Reason})
	}
	for i := len(m.Versions) - 1; i >= 0; i-- {
		v := m.Versions[i]
		row := versionRow{Version: v.Version, Aliases: m.AliasesOf(v.Version), RunID: v.RunID, RunShort: short(v.RunID), Model: v.Model, Created: fmtTime(v.Created), DataMD5: v.DataMD5}
		if x, ok := v.Metrics[d.Metric]; ok {
			row.Metric = num(x)
		}
		d.Versions = append(d.Versions, row)
	}
	d.Timeline = aliasTimeline(m, s.now())
	s.render(w, "model", http.StatusOK, d)
}

// aliasTimeline draws who held each alias when.
func aliasTimeline(m *registry.Model, now time.Time) template.HTML {
	if len(m.History) == 0 {
		return ""
	}
	aliases := slices.Sorted(maps.Keys(func() map[string]bool {
		out := map[string]bool{}
		for _, e := range m.History {
			out[e.Alias] = true
		}
		return out
	}()))
	var spans []span
	open := map[string]*span{}
	t0 := float64(m.History[0].Time.Unix())
	for _, e := range m.History {
		t := float64(e.Time.Unix())
		if sp := open[e.Alias]; sp != nil {
			sp.To = t
			spans = append(spans, *sp)
			delete(open, e.Alias)
		}
		if e.To > 0 {
			open[e.Alias] = &span{Alias: e.Alias, Version: e.To, From: t, Action: e.Action,
				Tooltip: fmt.Sprintf("@%s → v%d (%s, %s by %s)", e.Alias, e.To, e.Action, fmtTime(e.Time), e.User)}
		}
	}
	t1 := float64(now.Unix())
	for _, a := range aliases {
		if sp := open[a]; sp != nil {
			sp.To = t1
			spans = append(spans, *sp)
		}
	}
	return timeline("alias history", aliases, spans, t0, t1)
}

// metric is the metric the pages rank versions by.
func (s *Server) metric() string {
	if s.o.Metric != "" {
		return s.o.Metric
	}
	return "rmse"
}
