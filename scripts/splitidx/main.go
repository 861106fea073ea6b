// Command splitidx prints the test-row indices (0-based, one a line) of
// housectl's hold-out split, so that a peer (scikit-learn) can be fitted
// and scored on exactly the same rows:
//
//	go run ./scripts/splitidx -n 20640 -test-fraction 0.2 -seed 42 > test_idx.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/housectl/housectl/pkg/dataset"
)

func main() {
	n := flag.Int("n", 20640, "number of rows")
	frac := flag.Float64("test-fraction", 0.2, "fraction held out")
	seed := flag.Uint64("seed", 42, "split seed (train.seed)")
	flag.Parse()
	s, err := dataset.TrainTestSplit(*n, *frac, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, i := range s.Test {
		fmt.Fprintln(w, i)
	}
	if err := w.Flush(); err != nil {
		os.Exit(1)
	}
}
