package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

// make demo runs the pipeline in this checkout, and DVC (as housectl)
// refuses a .dvc file that git ignores: this repository's .gitignore must
// let data/california.csv.dvc be tracked, and ignore what it fetches.
// (It once ignored all of /data/, and make demo failed in a fresh clone.)
func TestRepositoryGitignoreLetsDVCTrackTheData(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	ignored := func(path string) bool {
		cmd := exec.CommandContext(t.Context(), git, "-C", root, "check-ignore", "-q", "--no-index", path)
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return false
		}
		if err != nil {
			t.Fatalf("git check-ignore %s: %v", path, err)
		}
		return true
	}
	for _, p := range []string{"data/california.csv.dvc", "data/.gitignore"} {
		if ignored(p) {
			t.Errorf("%s is git-ignored: housectl data add (and make demo) would refuse it", p)
		}
	}
	for _, p := range []string{"data/cal_housing.tgz", "data/raw/CaliforniaHousing/cal_housing.data", "bin/housectl"} {
		if !ignored(p) {
			t.Errorf("%s is not git-ignored", p)
		}
	}
}
