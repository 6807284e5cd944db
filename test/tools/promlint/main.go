// Command promlint lints Prometheus text exposition read from stdin with the same linter
// `promtool check metrics` runs (client_golang's testutil/promlint) and prints problems
// the way promtool does ("<metric> <problem>" on stderr); exit 3 when there are problems,
// as promtool's lint exit code, 1 when the input cannot be parsed.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func main() {
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error while linting:", err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p.Metric, p.Text)
	}
	if len(problems) > 0 {
		os.Exit(3)
	}
}
