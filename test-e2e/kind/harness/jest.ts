/**
 * Jest glue of the kind suite: one cluster per test file (beforeAll creates it, afterAll deletes it)
 * and scenario a as a block of tests any file can register.
 */
import { skipUnlessIntegrationPrereqs } from '../../harness/jest.js';
import { createKindCluster, type KindCluster, type KindClusterOptions } from './cluster.js';
import {
  dnsChecks,
  egressChecks,
  flannelNetworkKstatus,
  flannelNetworkReady,
  serviceChecks,
  tcpMatrix,
} from './checks.js';
import { KIND_PREREQS } from './env.js';
import { deployNetexec, type TestPod } from './workloads.js';

export interface KindSuite {
  cluster: () => KindCluster;
  pods: () => TestPod[];
}

/** Creates the cluster and the netexec pods before the file's tests; skipped/failing without prereqs. */
export function useKindCluster(opts: KindClusterOptions): KindSuite {
  let cluster: KindCluster | undefined;
  let pods: TestPod[] = [];
  if (skipUnlessIntegrationPrereqs(KIND_PREREQS)) {
    const none = (): never => {
      throw new Error('kind cluster not created: prerequisites missing');
    };
    return { cluster: none, pods: none };
  }
  beforeAll(async () => {
    const start = Date.now();
    cluster = await createKindCluster(opts);
    pods = await deployNetexec(cluster);
    console.log(
      `kind cluster ${opts.name} (${opts.backend}${opts.dualStack ? ', dual-stack' : ''}) ready in ${Math.round((Date.now() - start) / 1000)} s`,
    );
  }, 1_200_000);
  afterAll(async () => {
    await cluster?.destroy();
  }, 300_000);
  return {
    cluster: () => {
      if (!cluster) throw new Error('kind cluster not created');
      return cluster;
    },
    pods: () => pods,
  };
}

/** Scenario a: Ready + kstatus Current, pod-to-pod matrix, Service, DNS, egress masquerade. */
export function describeBasics(suite: KindSuite, families: (4 | 6)[] = [4]): void {
  it('the FlannelNetwork is Ready and kstatus Current', async () => {
    expect(await flannelNetworkReady(suite.cluster())).toBe('True');
    expect((await flannelNetworkKstatus(suite.cluster())).status).toBe('Current');
  });
  for (const family of families) {
    it(`pod-to-pod TCP matrix over IPv${family}, every pod seen with its own pod IP`, async () => {
      expect(suite.pods().length).toBe((suite.cluster().options.workers ?? 2) + 1);
      expect(await tcpMatrix(suite.cluster(), suite.pods(), family)).toEqual([]);
    }, 300_000);
  }
  it('pod -> ClusterIP Service (kube-proxy), by name and by each ClusterIP', async () => {
    expect(await serviceChecks(suite.cluster(), suite.pods())).toEqual([]);
  }, 300_000);
  it('pod DNS through CoreDNS resolves the Service', async () => {
    expect(await dnsChecks(suite.cluster(), suite.pods())).toEqual([]);
  }, 300_000);
  it('pod -> outside: a container on the kind network sees the node IP', async () => {
    expect(await egressChecks(suite.cluster(), suite.pods())).toEqual([]);
  }, 300_000);
}
