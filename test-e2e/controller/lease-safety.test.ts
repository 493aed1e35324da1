/**
 * The controller double-checks what agents write into lease status (issue 10): a VTEP MAC that an
 * older lease already publishes, or a publicIP that is not an address of the lease's Node, gets
 * BackendRejected=True and a Warning Event (agents skip such leases); a lease on a reserved subnet
 * says so in its SubnetConflict message. Real controller binary, real API server.
 */
import { useControlPlane } from '../harness/jest.js';
import type { KubeClient } from '../../src/kube/client.js';
import { leaseName, type SubnetLease } from '../../src/api/index.js';
import {
  applyNetwork,
  clientFor,
  createNodes,
  listLeases,
  startController,
  waitFor,
  LEASES,
  type ControllerProcess,
} from './helpers.js';

const cp = useControlPlane({ build: true });
const API = 'network.flannel-operator.io/v1alpha1';

interface EventObj {
  reason: string;
  note: string;
  type: string;
  regarding: { kind: string; name: string };
}

describe('controller: lease safety', () => {
  let client: KubeClient;
  let ctrl: ControllerProcess;

  beforeAll(async () => {
    client = clientFor(cp().kubeConfig);
    ctrl = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: ['--leader-elect=false'],
    });
  });
  afterAll(async () => {
    await ctrl?.kill('SIGTERM');
    client?.close();
  });

  const events = async (reason: string, lease: string): Promise<EventObj[]> =>
    (await client.listAll<EventObj>('/apis/events.k8s.io/v1/events')).items.filter(
      (e) => e.reason === reason && e.regarding.name === lease,
    );
  const cond = async (lease: string, type: string) =>
    (await client.get<SubnetLease>(`${LEASES}/${lease}`)).status?.conditions?.find(
      (c) => c.type === type,
    );
  /** What a (compromised) agent writes into its own lease status. */
  const publish = (lease: string, status: Record<string, unknown>) =>
    client.applyStatus(
      { apiVersion: API, kind: 'SubnetLease', metadata: { name: lease }, status },
      { fieldManager: 'flannel-operator-agent', force: true },
    );
  const setAddresses = (node: string, ...ips: string[]) =>
    client.patch(
      `/api/v1/nodes/${node}/status`,
      { status: { addresses: ips.map((address) => ({ type: 'InternalIP', address })) } },
      { type: 'merge' },
    );

  it('flags the younger of two leases publishing the same VTEP MAC, with an Event; clears it once fixed', async () => {
    await applyNetwork(client, 'mac', {
      network: '10.50.0.0/16',
      nodeSelector: { matchLabels: { pool: 'mac' } },
    });
    await createNodes(client, ['mac-1'], { pool: 'mac' });
    await waitFor('lease 1', async () => (await listLeases(client, 'mac')).length === 1, 30_000);
    // Creation timestamps have a resolution of one second: make mac-2's lease clearly younger.
    await new Promise((r) => setTimeout(r, 1100));
    await createNodes(client, ['mac-2'], { pool: 'mac' });
    await waitFor('lease 2', async () => (await listLeases(client, 'mac')).length === 2, 30_000);
    await setAddresses('mac-1', '192.0.2.1');
    await setAddresses('mac-2', '192.0.2.2');
    const [older, younger] = [leaseName('mac', 'mac-1'), leaseName('mac', 'mac-2')];
    await publish(older, {
      publicIP: '192.0.2.1',
      backend: { type: 'vxlan', vni: 1, vtepMAC: '0e:11:00:00:00:01' },
    });
    // mac-2 publishes mac-1's VTEP MAC (what a compromised node would do to take its traffic).
    await publish(younger, {
      publicIP: '192.0.2.2',
      backend: { type: 'vxlan', vni: 1, vtepMAC: '0E:11:00:00:00:01' },
    });
    const flagged = await waitFor(
      'BackendRejected on the younger lease',
      async () => {
        const got = await cond(younger, 'BackendRejected');
        return got?.status === 'True' ? got : false;
      },
      20_000,
    );
    expect(flagged).toMatchObject({
      reason: 'DuplicateBackendData',
      message:
        'vtepMAC 0E:11:00:00:00:01 is already published by the older lease of node mac-1; agents do not program this lease',
    });
    expect((await cond(older, 'BackendRejected'))?.status).not.toBe('True');
    const ev = await waitFor(
      'Warning Event',
      async () => (await events('DuplicateBackendData', younger))[0],
      30_000,
    );
    expect(ev).toMatchObject({ type: 'Warning', note: flagged.message });

    await publish(younger, {
      publicIP: '192.0.2.2',
      backend: { type: 'vxlan', vni: 1, vtepMAC: '0e:11:00:00:00:02' },
    });
    await waitFor(
      'BackendRejected cleared',
      async () => (await cond(younger, 'BackendRejected'))?.status === 'False',
      20_000,
    );
  });

  it("flags a lease whose publicIP is not one of its Node's addresses, and clears it when the Node has it", async () => {
    await applyNetwork(client, 'pip', {
      network: '10.51.0.0/16',
      nodeSelector: { matchLabels: { pool: 'pip' } },
    });
    await createNodes(client, ['pip-1'], { pool: 'pip' });
    await setAddresses('pip-1', '192.0.2.11');
    const lease = leaseName('pip', 'pip-1');
    await waitFor('lease', async () => (await listLeases(client, 'pip')).length === 1, 30_000);
    await publish(lease, {
      publicIP: '192.0.2.99',
      backend: { type: 'vxlan', vni: 1, vtepMAC: '0e:22:00:00:00:01' },
    });
    const flagged = await waitFor(
      'BackendRejected',
      async () => {
        const got = await cond(lease, 'BackendRejected');
        return got?.status === 'True' ? got : false;
      },
      20_000,
    );
    expect(flagged).toMatchObject({
      reason: 'PublicIPNotNodeAddress',
      message:
        'publicIP 192.0.2.99 is not an address of Node pip-1 (InternalIP/ExternalIP); agents do not program this lease',
    });
    await waitFor(
      'Warning Event',
      async () => (await events('PublicIPNotNodeAddress', lease)).length > 0,
      30_000,
    );
    // The Node gains that address (e.g. a second InternalIP): the lease is fine again.
    await setAddresses('pip-1', '192.0.2.11', '192.0.2.99');
    await waitFor(
      'BackendRejected cleared',
      async () => (await cond(lease, 'BackendRejected'))?.status === 'False',
      20_000,
    );
  });

  it('a lease on a subnet reserved later: the SubnetConflict message names the reservation', async () => {
    await applyNetwork(client, 'rsv', {
      network: '10.52.0.0/16',
      nodeSelector: { matchLabels: { pool: 'rsv' } },
    });
    await createNodes(client, ['rsv-1'], { pool: 'rsv' });
    const name = leaseName('rsv', 'rsv-1');
    const leased = await waitFor(
      'lease',
      async () => (await listLeases(client, 'rsv')).find((l) => l.spec.subnet),
      30_000,
    );
    // The administrator reserves the subnet the node already holds.
    await applyNetwork(client, 'rsv', {
      network: '10.52.0.0/16',
      reservedSubnets: [leased.spec.subnet],
      nodeSelector: { matchLabels: { pool: 'rsv' } },
    });
    const c = await waitFor(
      'SubnetConflict',
      async () => {
        const got = await cond(name, 'SubnetConflict');
        return got?.status === 'True' ? got : false;
      },
      20_000,
    );
    expect(c.message).toBe(
      `subnet ${leased.spec.subnet} lies in spec.reservedSubnets of 10.52.0.0/16; this lease is ignored until resolved`,
    );
  });
});
