/**
 * Jest glue of the conformance run: registers, on a kind suite's cluster, the test that runs e2e.test's
 * sig-network conformance specs and fails unless every matched spec passed. Per-backend summary lines
 * are collected for the file's afterAll (see all-backends.test.ts).
 */
import { join } from 'node:path';
import { itNeeds } from '../../harness/jest.js';
import type { KindSuite } from '../harness/jest.js';
import { runSuite, suitePassed, summaryLine, type SuiteResult } from './e2e-suite.js';
import { CONFORMANCE_IMAGES } from './images.js';

/** Reports land in $FLOP_CONFORMANCE_REPORT_DIR/<label> (default /tmp/flop-conformance/<label>). */
export function reportDir(label: string): string {
  return join(process.env.FLOP_CONFORMANCE_REPORT_DIR ?? '/tmp/flop-conformance', label);
}

/** Registers the conformance test for `suite`; its result goes into `results` under `label`. */
export function describeConformance(
  suite: KindSuite,
  label: string,
  results?: Map<string, SuiteResult>,
): void {
  itNeeds(
    { tools: ['e2e.test', 'kubectl'] },
    'sig-network conformance: every spec the focus matches passes',
    async () => {
      const cluster = suite.cluster();
      await cluster.loadImages(...CONFORMANCE_IMAGES);
      const r = await runSuite({ kubeconfig: cluster.kubeconfig, reportDir: reportDir(label) });
      results?.set(label, r);
      console.log(summaryLine(label, r));
      if (!suitePassed(r)) {
        throw new Error(`${summaryLine(label, r)}\nfailed:\n  ${r.failedNames.join('\n  ')}`);
      }
    },
    55 * 60_000,
  );
}
