/** Scenario b: a dual-stack cluster, FlannelNetwork with ipv6Network; IPv4 and IPv6 matrices. */
import { describeBasics, useKindCluster } from './harness/jest.js';

describe('kind: dual-stack vxlan', () => {
  const suite = useKindCluster({ name: 'fo-dual', backend: 'vxlan', dualStack: true, workers: 2 });
  describeBasics(suite, [4, 6]);
});
