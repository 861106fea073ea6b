package cmdutil

import (
	"fmt"

	"github.com/housectl/housectl/pkg/train"
	"github.com/housectl/housectl/pkg/ui"
)

// TrainProgress draws training's progress on io's stderr (a bar per
// candidate on a terminal): shared by train and pipeline run. Call the
// returned finish when training returns.
func TrainProgress(io *ui.IOStreams, cvFolds int) (progress func(train.Progress), finish func()) {
	var bar ui.Counter
	current := ""
	steps := max(cvFolds, 0) + 1
	finish = func() {
		if bar != nil {
			bar.Finish()
			bar = nil
		}
	}
	progress = func(p train.Progress) {
		if p.Candidate != current {
			finish()
			current = p.Candidate
			bar = io.NewCounter(steps, "")
		}
		what := "final fit"
		if p.Fold > 0 {
			what = fmt.Sprintf("fold %d/%d", p.Fold, p.Folds)
		}
		desc := fmt.Sprintf("[%d/%d] %s %s", p.Index, p.Of, p.Candidate, what)
		if p.Event.Total > 0 {
			desc += fmt.Sprintf(" %s %d/%d", p.Event.Stage, p.Event.Step, p.Event.Total)
		}
		bar.Describe(desc)
		if p.Event.Step == p.Event.Total || p.Event.Total == 0 {
			bar.Add(1)
		}
	}
	return progress, finish
}
