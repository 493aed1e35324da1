import type { FlannelNetwork, SubnetLease } from '../api/index.js';
import { diffState, type ActualState } from './desired.js';
import { indexDesired, isDrift, linksAsWanted, updateIndex } from './drift.js';
import { renderConflist, renderSubnetEnv } from './files.js';
import {
  type NlRequest,
  deleteFdbRequest,
  deleteNeighborRequest,
  deleteRouteRequest,
  frame,
  replaceFdbRequest,
  replaceNeighborRequest,
  replaceRouteRequest,
} from './kernel/messages.js';
import { eachMessage } from './kernel/parse.js';
import { noteOf } from './kernel/netlink.js';
import { renderNft } from './netfilter/render.js';
import { nodeDesiredState, toPeer } from './node-state.js';
import { slimLease } from './slim-lease.js';

/**
 * The pure code of a pass, run once on a made-up dual-stack network of three nodes while the
 * agent's startup snapshot is built (snapshot.ts), so that the blob holds its bytecode. Under
 * --jitless a function is compiled from source at its first call; a first pass calls hundreds
 * (the plan of 1,000 peers took 14 ms in a new process, 11 ms once compiled; issue 13). Nothing
 * here touches a socket, file or timer (none can be in a snapshot) or keeps any state.
 * Returns how many of the kernel writes it encoded it read back, which the unit test checks.
 */
export function warmUp(): number {
  const leases = [1, 2, 3].map((n) => slimLease(lease(n), 'warm-1'));
  const state = nodeDesiredState({
    network: NETWORK,
    lease: leases[0]!,
    leases,
    node: {
      nodeName: 'warm-1',
      publicIP: '192.0.2.1',
      publicIPv6: '2001:db8::1',
      underlay: {
        name: 'eth0',
        index: 2,
        mtu: 1500,
        ip: '192.0.2.1',
        prefix: '192.0.2.0/24',
        ipv6: '2001:db8::1',
        prefixV6: '2001:db8::/64',
      },
    },
  });
  const empty: ActualState = { routes: [], neighbors: [], fdb: [] };
  const diff = diffState(state.desired, empty, state.ownership);
  const devices = new Map([
    ['eth0', 2],
    ['flannel.1', 3],
    ['flannel-v6.1', 4],
  ]);
  const index = indexDesired(state.desired, devices, ['flannel.1', 'flannel-v6.1']);
  updateIndex(index, diff);
  linksAsWanted([{ kind: 'link', op: 'new', ifindex: 3, name: 'flannel.1', up: true }], index);
  // Encoded as applyDiff sends them, then read back as the watcher reads their notifications.
  const messages: Buffer[] = [];
  const encode = (...requests: NlRequest[]): void => {
    for (const r of requests) messages.push(frame(r, messages.length + 1, 0));
  };
  for (const r of diff.addRoutes) encode(replaceRouteRequest(r, 3), deleteRouteRequest(r));
  for (const n of diff.addNeighbors)
    encode(replaceNeighborRequest(n, 3), deleteNeighborRequest(n, 3));
  for (const f of diff.addFdb) encode(replaceFdbRequest(f, 3), deleteFdbRequest(f, 3));
  let notes = 0;
  eachMessage(Buffer.concat(messages), (type, data) => {
    const note = noteOf(type, data);
    if (note && note.kind !== 'link') isDrift(note, index);
    if (note) notes++;
  });
  // A peer pass: one peer's lease changes, then goes.
  state.planner.set('warm-3', toPeer(slimLease(lease(3, '192.0.2.33'), 'warm-1')));
  state.planner.takeDiff();
  state.planner.set('warm-3', undefined);
  state.planner.takeDiff();
  state.planner.summary();
  for (const rules of state.rules) renderNft(rules);
  renderSubnetEnv(state.subnetEnv);
  renderConflist({});
  return notes;
}

const NETWORK = {
  metadata: { name: 'warm' },
  spec: { network: '10.255.0.0/16', ipv6Network: 'fd00:255::/48', backend: { type: 'vxlan' } },
} as FlannelNetwork;

/** Node warm-<n>'s lease, with its status published (publicIP: another address for it). */
function lease(n: number, publicIP = `192.0.2.${n}`): SubnetLease {
  return {
    metadata: {
      name: `warm.warm-${n}`,
      uid: `warm-${n}`,
      generation: 1,
      resourceVersion: String(n),
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: {
      nodeName: `warm-${n}`,
      networkName: 'warm',
      subnet: `10.255.${n}.0/24`,
      ipv6Subnet: `fd00:255:0:${n}::/64`,
    },
    status: {
      publicIP,
      publicIPv6: `2001:db8::${n}`,
      backend: {
        type: 'vxlan',
        vni: 1,
        vtepMAC: `0e:00:00:00:00:0${n}`,
        v6VtepMAC: `0e:00:00:00:01:0${n}`,
      },
      conditions: [],
    },
  } as SubnetLease;
}
