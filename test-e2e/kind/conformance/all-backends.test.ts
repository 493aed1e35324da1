/**
 * `make conformance`: Kubernetes sig-network conformance (e2e.test of v1.34.4) on one kind cluster
 * per backend, each 1 control plane + 2 workers with this operator as the pod network, and a
 * pass/fail count per backend at the end. `make e2e` runs the same test on vxlan only, on the vxlan
 * scenario cluster; this file is its own jest project (`conformance`), outside `make test`.
 */
import type { Backend } from '../harness/cluster.js';
import { useKindCluster } from '../harness/jest.js';
import type { SuiteResult } from './e2e-suite.js';
import { summaryLine } from './e2e-suite.js';
import { describeConformance } from './jest.js';

const BACKENDS: Backend[] = ['vxlan', 'host-gw', 'directrouting'];
const results = new Map<string, SuiteResult>();

afterAll(() => {
  const lines = BACKENDS.map((b) => {
    const r = results.get(b);
    return r ? summaryLine(b, r) : `conformance ${b}: did not run`;
  });
  console.log(`sig-network conformance per backend:\n${lines.join('\n')}`);
});

describe.each(BACKENDS)('kind conformance: %s', (backend) => {
  const suite = useKindCluster({ name: `fo-conf-${backend}`, backend, workers: 2 });
  describeConformance(suite, backend, results);
});
