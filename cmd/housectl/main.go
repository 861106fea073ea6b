// Command housectl is the MLOps toolkit for tabular models. See README.md.
package main

import (
	"os"

	"github.com/housectl/housectl/pkg/cli"
)

func main() {
	os.Exit(cli.Main())
}
