package monitorcmd

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/plots"
	"github.com/housectl/housectl/pkg/store"
)

func newCmdReport(f *cmdutil.Factory) *cobra.Command {
	o := newOptions(f)
	var out string
	cmd := &cobra.Command{
		Use:   "report --out <file.html> [--model <uri>] [--since <dur>]",
		Short: "One self-contained HTML page: drift, prediction distribution, live accuracy, lineage",
		Long: `Write a single HTML file (charts embedded as PNG, no external assets) with the
drift of every feature and of the prediction against the training data, the
live prediction distribution over the training target's, live accuracy over
time where actual values were sent back, and the model version's lineage.`,
		Example: "  housectl monitor report --out report.html --since 7d",
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return cmdutil.FlagErrorf("--out is required: the HTML file to write")
			}
			o.Config = func() (*config.Loaded, error) { return f.Config(c) }
			o.Context = c.Context()
			return reportRun(o, out)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "HTML file to write")
	cmd.Flags().StringVar(&o.Model, "model", "", "models:/ URI of the version (default: serve.model)")
	cmdutil.DurationVar(cmd.Flags(), &o.Since, "since", 0, "the last DURATION, e.g. 24h or 7d (default: monitor.window)")
	cmd.Flags().StringVar(&o.From, "from", "", "from this time (RFC 3339)")
	cmd.Flags().StringVar(&o.To, "to", "", "up to this time (RFC 3339, exclusive)")
	return cmd
}

type reportRow struct {
	Name, PSI, KS, LiveMean, RefMean, Status string
}

type reportData struct {
	Title, Generated, Window, Status string
	Rows                             int
	Insufficient                     bool
	MinRows                          int
	Drift                            []reportRow
	Charts                           []chart
	Lineage                          [][2]string
	Accuracy                         []perfRow
	NoFeedback                       bool
}

type chart struct {
	Title string
	Src   template.URL
}

type perfRow struct {
	From, Rows, RMSE, MAE, R2 string
}

func pngURL(b []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
}

func reportRun(o *Options, path string) error {
	l, err := o.Config()
	if err != nil {
		return err
	}
	m, err := measure(o, l)
	if err != nil {
		return err
	}
	defer m.db.Close()
	mc := l.Config.Monitor
	rep, h, v := m.out.Report, m.art.Header, m.version
	f3 := func(x float64) string {
		if math.IsNaN(x) {
			return "–"
		}
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
	d := reportData{
		Title:     fmt.Sprintf("%s version %d", v.Name, v.Version),
		Generated: o.Now().UTC().Format(time.RFC3339),
		Window:    m.out.From.UTC().Format(time.RFC3339) + " → " + map[bool]string{true: "now", false: m.out.To.UTC().Format(time.RFC3339)}[m.out.To.IsZero()],
		Status:    rep.Status, Rows: rep.Rows, MinRows: mc.MinRows, Insufficient: rep.Rows < mc.MinRows,
	}
	var names []string
	var psis []float64
	for _, r := range append(append([]monitor.Result(nil), rep.Features...), rep.Prediction) {
		d.Drift = append(d.Drift, reportRow{r.Name, f3(r.PSI), f3(r.KS), f3(r.LiveMean), f3(r.RefMean), r.Status})
	}
	for _, r := range rep.Features {
		names, psis = append(names, r.Name), append(psis, r.PSI)
	}
	if !d.Insufficient {
		img, err := plots.DriftBars("Population stability index per feature", names, psis, mc.PSIWarn, mc.PSIAlert)
		if err != nil {
			return err
		}
		d.Charts = append(d.Charts, chart{"Drift per feature (PSI)", pngURL(img)})
	}
	target := h.Training[len(h.Features)]
	ref := target.Percentiles
	if len(ref) < 11 {
		ref = target.Deciles
	}
	img, err := plots.Distributions("Predictions (live) over the training "+h.Target, h.Target, m.preds, ref)
	if err != nil {
		return err
	}
	d.Charts = append(d.Charts, chart{"Prediction distribution versus training", pngURL(img)})

	// Live accuracy per day (or per hour for a window under two days).
	joined, err := m.db.Joined(o.Context, store.Query{From: m.out.From, To: m.out.To, Model: v.Name, Version: strconv.Itoa(v.Version)})
	if err != nil {
		return err
	}
	bucket := 24 * time.Hour
	if span := o.Now().Sub(m.out.From); span <= 48*time.Hour {
		bucket = time.Hour
	}
	if len(joined) == 0 {
		d.NoFeedback = true
	} else {
		groups := map[int64][]store.Joined{}
		var keys []int64
		for _, j := range joined {
			k := j.Time.Sub(m.out.From).Nanoseconds() / bucket.Nanoseconds()
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], j)
		}
		var xs, ys []float64
		for _, k := range keys {
			js := groups[k]
			truth, pred := make([]float64, len(js)), make([]float64, len(js))
			for i, j := range js {
				truth[i], pred[i] = j.Actual, j.Prediction
			}
			met := eval.Compute(truth, pred)
			at := m.out.From.Add(time.Duration(k) * bucket)
			d.Accuracy = append(d.Accuracy, perfRow{at.UTC().Format(time.RFC3339), strconv.Itoa(len(js)), f3(met[eval.RMSE]), f3(met[eval.MAE]), f3(met[eval.R2])})
			xs, ys = append(xs, float64(at.Unix())), append(ys, met[eval.RMSE])
		}
		img, err := plots.Series("Live RMSE per "+bucket.String(), "RMSE", []string{v.Name + " v" + strconv.Itoa(v.Version)}, [][]float64{xs}, [][]float64{ys})
		if err != nil {
			return err
		}
		d.Charts = append(d.Charts, chart{"Live accuracy over time", pngURL(img)})
	}
	lin := v.Lineage
	d.Lineage = [][2]string{
		{"model", fmt.Sprintf("%s (%s)", v.Model, v.Source)},
		{"registered", v.Created.UTC().Format(time.RFC3339) + " by " + v.User},
		{"run", v.RunID + " in " + v.Experiment},
		{"training data", fmt.Sprintf("%s, md5 %s, %d rows", lin.DataPath, lin.DataMD5, lin.DataRows)},
		{"test rows", v.TestSet},
		{"artifact sha256", v.SHA256},
		{"git", lin.GitCommit + " " + lin.GitBranch},
		{"housectl", lin.Version},
	}
	for _, k := range []string{eval.RMSE, eval.MAE, eval.R2, eval.MAPE} {
		if x, ok := v.Metrics[k]; ok {
			d.Lineage = append(d.Lineage, [2]string{"test " + k, f3(x)})
		}
	}
	var buf bytes.Buffer
	if err := reportPage().Execute(&buf, d); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "wrote %s (%d KB): %s, %d predictions, drift %s\n", path, buf.Len()/1024, d.Title, rep.Rows, rep.Status)
	return nil
}

// reportPage is parsed on first use, not at start-up.
var reportPage = sync.OnceValue(func() *template.Template { return template.Must(template.New("report").Parse(reportHTML)) })

const reportHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>housectl monitoring — {{.Title}}</title>
<style>
 body { font: 15px/1.5 system-ui, sans-serif; margin: 0; background: #f6f8fa; color: #1f2328; }
 header { background: #24292f; color: #fff; padding: 1.2rem 2rem; }
 header h1 { margin: 0 0 .2rem; font-size: 1.4rem; }
 main { max-width: 1000px; margin: 1.5rem auto; padding: 0 1rem; }
 section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem 1.4rem; margin-bottom: 1.2rem; }
 h2 { font-size: 1.1rem; margin-top: 0; }
 table { border-collapse: collapse; width: 100%; }
 th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #eaeef2; }
 td.num { text-align: right; font-variant-numeric: tabular-nums; }
 .ok { color: #1a7f37; font-weight: 600; } .warn { color: #9a6700; font-weight: 600; } .alert { color: #cf222e; font-weight: 700; }
 .insufficient_data { color: #57606a; }
 .badge { display: inline-block; padding: 2px 10px; border-radius: 12px; background: #eaeef2; }
 img { max-width: 100%; }
 .muted { color: #57606a; }
</style>
</head>
<body>
<header>
 <h1>{{.Title}}</h1>
 <div>Drift <span class="badge {{.Status}}">{{.Status}}</span> · {{.Rows}} logged predictions · {{.Window}} · generated {{.Generated}}</div>
</header>
<main>
<section>
 <h2>Drift against the training data</h2>
 {{if .Insufficient}}<p class="muted">Not enough data: {{.Rows}} logged predictions, drift needs at least {{.MinRows}} (monitor.min_rows).</p>{{end}}
 <table>
  <tr><th>feature</th><th>PSI</th><th>KS</th><th>live mean</th><th>training mean</th><th>status</th></tr>
  {{range .Drift}}<tr><td>{{.Name}}</td><td class="num">{{.PSI}}</td><td class="num">{{.KS}}</td><td class="num">{{.LiveMean}}</td><td class="num">{{.RefMean}}</td><td class="{{.Status}}">{{.Status}}</td></tr>
  {{end}}
 </table>
</section>
{{range .Charts}}<section><h2>{{.Title}}</h2><img alt="{{.Title}}" src="{{.Src}}"></section>
{{end}}
<section>
 <h2>Live accuracy</h2>
 {{if .NoFeedback}}<p class="muted">No actual values yet: send them to POST /feedback or <code>housectl predictions feedback FILE.csv</code>.</p>{{else}}
 <table><tr><th>from</th><th>rows</th><th>RMSE</th><th>MAE</th><th>R²</th></tr>
 {{range .Accuracy}}<tr><td>{{.From}}</td><td class="num">{{.Rows}}</td><td class="num">{{.RMSE}}</td><td class="num">{{.MAE}}</td><td class="num">{{.R2}}</td></tr>
 {{end}}</table>{{end}}
</section>
<section>
 <h2>Lineage</h2>
 <table>{{range .Lineage}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
</section>
</main>
</body>
</html>
`
