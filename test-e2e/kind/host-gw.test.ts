/** Scenario a on host-gw: every node on the kind bridge, plain routes to the peers' pod subnets. */
import { describeBasics, useKindCluster } from './harness/jest.js';

describe('kind: host-gw', () => {
  const suite = useKindCluster({ name: 'fo-hostgw', backend: 'host-gw', workers: 2 });
  describeBasics(suite);
});
