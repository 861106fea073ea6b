package data

import (
	"context"
	"errors"
	"fmt"

	"github.com/housectl/housectl/pkg/dvc"
)

// Track versions path as `dvc add` does when the working directory is in
// a DVC repository, and returns what was added. Outside one it versions
// nothing: it says so through notify and returns nil.
func Track(ctx context.Context, path string, notify func(string)) (*dvc.AddResult, error) {
	r, err := dvc.Find(".")
	if errors.Is(err, dvc.ErrNotRepo) {
		if notify != nil {
			notify(fmt.Sprintf("note: not a DVC repository, so %s is not versioned; `housectl init` makes one", path))
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	res, err := r.Add(ctx, []string{path}, dvc.AddOptions{})
	if err != nil {
		return nil, fmt.Errorf("track %s: %w", path, err)
	}
	return &res[0], nil
}
