// Mocha reporter: mocha's own `spec` output, then one closing line that CI reads:
//   "N passed, N failed" (", N skipped" when tests are pending).
// CommonJS because mocha loads reporters with require().
'use strict';
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      // Printed after Spec's epilogue (registered earlier on the same event).
      setImmediate(() => {
        const skipped = s.pending > 0 ? `, ${s.pending} skipped` : '';
        process.stdout.write(`\n${s.passes} passed, ${s.failures} failed${skipped}\n`);
      });
    });
  }
}
module.exports = SummaryReporter;
