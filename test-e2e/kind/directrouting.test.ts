/** Scenario a on vxlan with DirectRouting: peers on the same L2 subnet get plain routes. */
import { describeBasics, useKindCluster } from './harness/jest.js';

describe('kind: vxlan + DirectRouting', () => {
  const suite = useKindCluster({ name: 'fo-dr', backend: 'directrouting', workers: 2 });
  describeBasics(suite);
});
