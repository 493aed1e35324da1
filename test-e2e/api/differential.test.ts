/**
 * Differential test: random FlannelNetwork specs (built from edge-case values) go to the real
 * API server (dry run) and through the operator's zod parse. Both must agree on accept/reject and
 * on the exact set of messages, and, for updates, on the transition rules. This keeps the CEL
 * rules in the CRD and their JS twins in src/api from drifting apart.
 */
import fc from 'fast-check';
import { useControlPlane } from '../harness/jest.js';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import {
  ApiValidationError,
  flannelNetworkUpdateProblems,
  parseFlannelNetwork,
} from '../../src/api/parse.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

const API = 'network.flannel-operator.io/v1alpha1';
const NETWORKS = `/apis/${API}/flannelnetworks`;
const RUNS = Number(process.env.DIFFERENTIAL_RUNS ?? 300);

const cp = useControlPlane();
let client: KubeClient;
beforeAll(() => {
  client = new KubeClient(clientNodeAuth(cp().kubeConfig), { userAgent: 'differential-test' });
});
afterAll(() => client?.close());

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

const v4Networks = [
  '10.244.0.0/16',
  '10.0.0.0/8',
  '192.168.0.0/24',
  '10.1.2.0/28',
  '10.1.2.0/29',
  '10.244.0.0/23',
];
const v4Bad = [
  '10.244.1.0/16',
  '10.244.0/16',
  'fd00::/56',
  '10.244.0.0/33',
  'nonsense',
  // Over-wide and special-purpose ranges.
  '0.0.0.0/0',
  '10.0.0.0/7',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/24',
];
const v4Addrs = [
  '10.244.1.0',
  '10.244.9.0',
  '10.244.255.0',
  '10.244.0.0',
  '10.244.1.5',
  '10.245.0.0',
  '10.0.4.0',
  '10.0.0.0',
  '192.168.0.64',
  '192.168.0.0',
  '192.168.0.192',
  '192.168.0.200',
  '10.1.2.4',
  '10.1.2.12',
  '10.244.1.128',
  '10.244.0.128',
  'fd00::',
  'x',
];
const v6Networks = ['fd00:10:244::/56', 'fd00::/48', 'fd00::/120', 'fd00::/125'];
const v6Bad = [
  'FD00::/56',
  'fd00:0::/56',
  'fd00::1/56',
  '10.0.0.0/8',
  '::/0',
  '::1/128',
  'fe80::/64',
  'ff00::/8',
  'fd00::/31',
];
const v6Addrs = [
  'fd00:10:244:1::',
  'fd00:10:244:9::',
  'fd00:10:244:ff::',
  'fd00:10:244::',
  'fd00:10:244:1::1',
  'fd00::4',
  'fd00::40',
  'fd00::c0',
  'fd00:0:0:5::',
  'FD00:10:244:2::',
  'fd00:11::',
  '10.0.0.1',
];
const reserved = [
  '10.244.2.0/24',
  '10.244.0.0/20',
  '10.245.0.0/24',
  '10.244.2.1/24',
  '192.168.0.0/26',
  'fd00:10:244:2::/64',
  'fd00::/64',
  'fd00::/56',
];

const specArb = fc
  .record({
    network: opt(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...v4Networks) }, fc.constantFrom(...v4Bad)),
    ),
    subnetLen: opt(fc.integer({ min: 1, max: 30 })),
    subnetMin: opt(fc.constantFrom(...v4Addrs)),
    subnetMax: opt(fc.constantFrom(...v4Addrs)),
    ipv6Network: opt(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...v6Networks) }, fc.constantFrom(...v6Bad)),
    ),
    ipv6SubnetLen: opt(fc.integer({ min: 1, max: 126 })),
    ipv6SubnetMin: opt(fc.constantFrom(...v6Addrs)),
    ipv6SubnetMax: opt(fc.constantFrom(...v6Addrs)),
    reservedSubnets: opt(fc.uniqueArray(fc.constantFrom(...reserved), { maxLength: 3 })),
    nodeSelector: opt(
      fc.record(
        {
          matchLabels: fc.dictionary(
            fc.constantFrom('pool', 'example.com/zone', '', 'Bad_/x', 'a b'),
            fc.constantFrom('a', '', 'not valid!', 'x.y-z'),
            { maxKeys: 2 },
          ),
          matchExpressions: fc.array(
            fc.record(
              {
                key: fc.constantFrom('pool', 'node-role.kubernetes.io/worker', '', '-bad'),
                operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
                values: fc.array(fc.constantFrom('a', 'b', 'bad value'), { maxLength: 2 }),
              },
              { requiredKeys: ['key', 'operator'] },
            ),
            { maxLength: 2 },
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    backend: opt(
      fc.record({
        type: fc.constantFrom('vxlan', 'host-gw'),
        directRouting: fc.boolean(),
        gbp: fc.boolean(),
      }),
    ),
  })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));

type Issue = string;

function zodIssues(name: string, spec: unknown): Issue[] {
  try {
    parseFlannelNetwork({ apiVersion: API, kind: 'FlannelNetwork', metadata: { name }, spec });
    return [];
  } catch (e) {
    if (!(e instanceof ApiValidationError)) throw e;
    return e.issues
      .map((i) => `${i.path.replace(/\.(\d+)(?=\.|$)/g, '[$1]')}: ${i.message}`)
      .sort();
  }
}

async function serverIssues(op: () => Promise<unknown>): Promise<Issue[]> {
  try {
    await op();
    return [];
  } catch (e) {
    if (!(e instanceof KubeApiError) || e.status !== 422) throw e;
    return (e.details?.causes ?? [])
      .map(
        (c) =>
          `${c.field}: ${(c.message ?? '').replace(/^(Invalid value: "[^"]*": |Forbidden: |Required value: )/, '')}`,
      )
      .sort();
  }
}

let seq = 0;

describe('CEL rules and zod twins agree', () => {
  it(`on ${RUNS} random specs (create, dry run)`, async () => {
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        const name = `diff-${++seq}`;
        const server = await serverIssues(() =>
          client.request('POST', NETWORKS, {
            body: { apiVersion: API, kind: 'FlannelNetwork', metadata: { name }, spec },
            query: { dryRun: 'All' },
          }),
        );
        expect({ spec, issues: zodIssues(name, spec) }).toEqual({ spec, issues: server });
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`on ${Math.ceil(RUNS / 3)} random updates of valid networks`, async () => {
    const valid = specArb.filter((s) => zodIssues('x', s).length === 0);
    await fc.assert(
      fc.asyncProperty(valid, valid, async (from, to) => {
        const name = `upd-${++seq}`;
        const obj = (spec: unknown) => ({
          apiVersion: API,
          kind: 'FlannelNetwork',
          metadata: { name },
          spec,
        });
        const created = await client.request<{ metadata: { resourceVersion: string } }>(
          'POST',
          NETWORKS,
          {
            body: obj(from),
          },
        );
        try {
          const server = await serverIssues(() =>
            client.request('PUT', `${NETWORKS}/${name}`, {
              body: {
                ...obj(to),
                metadata: { name, resourceVersion: created.metadata.resourceVersion },
              },
              query: { dryRun: 'All' },
            }),
          );
          const js = flannelNetworkUpdateProblems(
            parseFlannelNetwork(obj(from)),
            parseFlannelNetwork(obj(to)),
          ).sort();
          const serverMessages = server.map((s) => s.slice(s.indexOf(': ') + 2)).sort();
          expect({ from, to, problems: js }).toEqual({ from, to, problems: serverMessages });
        } finally {
          await client.delete(`${NETWORKS}/${name}`);
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }, 300_000);
});
