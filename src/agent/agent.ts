import { join } from 'node:path';
import type { Logger } from 'pino';
// group.js, not index.js: the agent loads no schema library (zod).
import {
  API_VERSION,
  FIELD_MANAGER_AGENT,
  FLANNEL_NETWORK,
  LABEL_NETWORK,
  SUBNET_LEASE,
} from '../api/group.js';
import type { Condition, FlannelNetwork, SubnetLease } from '../api/index.js';
// The kube modules it uses, not kube/index.js: that one also loads the controller's work queue
// and, through it, prom-client (loaded later: metrics.ts).
import { Informer } from '../kube/informer.js';
import { backoffDelay, sleep } from '../kube/backoff.js';
import { collectionPath } from '../kube/resources.js';
import { isNotFound, type KubeClient } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import { leaseName } from '../api/names.js';
import {
  diffCount,
  deviceDiff,
  diffState,
  vxlanDeviceName,
  type ActualState,
  type DesiredState,
  type Diff,
  type UnderlayInfo,
  type VxlanSpec,
} from './desired.js';
import { type PeerPlanner } from './planner.js';
import { tryCanonicalIp } from '../ipam/index.js';
import { Kernel, KernelWatcher } from './kernel/netlink.js';
import { Netfilter, type NetfilterMode, detectMode } from './netfilter/apply.js';
import { NftWatcher } from './netfilter/watch.js';
import { NftWriters } from './netfilter/writers.js';
import { describeBlocker } from './netfilter/forward-check.js';
import { desiredSysctls, ensureSysctl } from './sysctl.js';
import { CNI_CONFLIST_NAME, renderConflist, renderSubnetEnv, writeFileAtomic } from './files.js';
import { PassLoop } from './loop.js';
import {
  AgentError,
  networkConfig,
  nodeDesiredState,
  toPeer,
  tunnelDevices,
  type AgentNetworkConfig,
  type NodeInfo,
  type NodeState,
} from './node-state.js';
import type { RuleInput } from './netfilter/render.js';
import type { AgentMetrics } from './metrics.js';
import { WireguardDevices } from './wireguard/device.js';
import { DEFAULT_WIREGUARD_KEY_FILE, loadOrCreateKey } from './wireguard/keys.js';
import { programWireguard, readPsk, type WgSecrets } from './wireguard/program.js';
import { leaseOfNode, peerOfLease } from './peers.js';
import { slimLease } from './slim-lease.js';
import { logMilestone } from './milestone.js';
import {
  LinkNotes,
  indexDesired,
  isDrift,
  linksAsWanted,
  updateIndex,
  type DesiredIndex,
  type KernelNote,
} from './drift.js';

/** Leases per page of the initial list (and relists). */
const LEASE_LIST_PAGE = 5000;

/** The trigger of a peer's lease change: it alone never needs a full pass. */
const PEER_TRIGGER = 'lease';
/** A change of one of its links; a full pass unless the link ended as wanted (deferredDrift). */
const LINK_TRIGGER = 'link';
/** A change of its own lease; a full pass unless it is the echo of its status write. */
const OWN_LEASE_TRIGGER = 'own-lease';
/** Triggers that do not by themselves make the next pass a full one. */
const DEFERRED_TRIGGERS = new Set([PEER_TRIGGER, LINK_TRIGGER, OWN_LEASE_TRIGGER]);
/**
 * Writes from which a diff is sent with the watchers deaf to them (ChangeSource.deafen): a first
 * pass or a recovery. Below it, their echoes cost less than 0.4 ms and the watchers keep hearing.
 */
const BULK_WRITES = 64;

export interface AgentOptions {
  nodeName: string;
  network: string;
  iface?: string;
  publicIP?: string;
  /** Address peers send IPv6 tunnel traffic to (dual-stack); default: Node InternalIP v6, then the underlay's. */
  publicIPv6?: string;
  subnetFile: string;
  cniConfDir: string;
  cniDataDir?: string;
  netfilter?: NetfilterMode;
  resyncMs: number;
  debounceMs?: number;
  /** wireguard: private key file (created 0600 in a 0700 directory when absent). */
  wireguardKeyFile?: string;
  /** wireguard: a key to adopt when the key file is absent (upstream's /run/flannel/wgkey). */
  wireguardImportKey?: string;
  /** wireguard: file holding the network's pre-shared key (the mounted Secret). */
  wireguardPskFile?: string;
  /** wireguard: the userspace implementation for kernels without WireGuard. */
  wireguardGo?: string;
}

interface Node {
  metadata: { name?: string };
  status?: { addresses?: Array<{ type: string; address: string }> };
}

/** The kernel calls a pass makes (the rtnetlink Kernel in production, a fake in unit tests). */
export type AgentKernel = Pick<
  Kernel,
  'underlay' | 'underlayV6' | 'readState' | 'deleteLink' | 'ensureVxlan' | 'applyDiff' | 'close'
>;

/** Something that says "the kernel may have drifted": rtnetlink and nftables monitors. */
export interface ChangeSource {
  /** `note`: what changed in the kernel, when the source knows (rtnetlink); else assume drift. */
  on(event: 'change', listener: (what: string, note?: KernelNote) => void): unknown;
  start(): void;
  stop(): void;
  /**
   * Stops hearing the kernel objects the agent writes in bulk until the returned function is
   * called (rtnetlink: KernelWatcher.deafen). What changes meanwhile, the periodic resync repairs.
   */
  deafen?(): () => void;
}

export type AgentNetfilter = Pick<
  Netfilter,
  'mode' | 'apply' | 'inSync' | 'remove' | 'forwardBlockers'
>;

export interface AgentDeps {
  client: KubeClient;
  logger: Logger;
  metrics: AgentMetrics;
  /** Warning Events on the lease when a pass fails (best effort). */
  events?: EventRecorder;
  /** Default: rtnetlink of this network namespace. */
  kernel?: AgentKernel;
  /** Default: rtnetlink groups, plus nftables events when the rules are in nftables. */
  watchers?: ChangeSource[];
  /** Default: nftables when nft works here, else iptables (or --netfilter). */
  netfilter?: AgentNetfilter;
  /** Default: reads and writes /proc/sys; injected by tests that must not touch the host. */
  ensureSysctl?: typeof ensureSysctl;
  /** Link calls of the WireGuard backend; default: `kernel` (the rtnetlink Kernel). */
  wireguardKernel?: WireguardKernel;
}

type WireguardKernel = Pick<
  Kernel,
  'linkState' | 'createWireguardLink' | 'configureLink' | 'deleteLink'
>;

/**
 * The per-node agent: publishes this node's backend data to its lease, and keeps the kernel
 * (vxlan device, routes, neighbors, FDB, netfilter, subnet.env, CNI config) equal to what all
 * leases of the network ask for. Level-triggered: every pass recomputes everything.
 */
export class Agent {
  private leases!: Informer<SubnetLease>;
  private networks!: Informer<FlannelNetwork>;
  private readonly kernel: AgentKernel;
  private watchers: ChangeSource[] = [];
  private netfilter?: AgentNetfilter;
  private readonly loop: PassLoop;
  private underlay!: UnderlayInfo;
  /** Absent on an IPv6-only underlay. */
  private publicIP?: string;
  private vtepMAC?: string;
  private publicIPv6?: string;
  private v6VtepMAC?: string;
  private lastStatus = '';
  /** resourceVersion of this node's lease as its last status write left it (deferredDrift). */
  private ownStatusVersion?: string;
  /** Its own lease changed since the last pass (deferredDrift). */
  private ownLeaseChanged = false;
  private readonly linkNotes = new LinkNotes();
  private lastRejected = '[]';
  private ready = false;
  private stopped = false;
  /** Own lease and config of the pass in progress, to report its failure. */
  private current?: { lease: SubnetLease; cfg: AgentNetworkConfig };
  lastError?: string;
  /** Why forwarded pod traffic is dropped by a chain not ours (undefined: it is not). */
  forwardingBlocked?: string;
  /** Address families whose netfilter rules were last applied (others get removed). */
  private ruleFamilies?: string;
  private readonly sysctlOff = new Set<string>();
  private wireguard?: WireguardDevices;
  /** wireguard: key file and public key of this pass (re-read every pass: rotation). */
  private wgSecrets?: WgSecrets;
  /** What the last full pass programmed (its state, device indexes): peer passes update its planner. */
  private programmed?: {
    state: NodeState;
    devices: Map<string, number>;
    /** Built on the first kernel notification after the pass. */
    index?: DesiredIndex;
  };
  private fullPassDue = true;
  private passEnded!: () => void;
  private readonly firstPassEnded = new Promise<void>((r) => (this.passEnded = r));
  /** Nodes whose peer lease changed since the last pass began. */
  private changedPeers = new Set<string>();

  constructor(
    private readonly opts: AgentOptions,
    private readonly deps: AgentDeps,
  ) {
    this.kernel = deps.kernel ?? new Kernel();
    this.loop = new PassLoop({
      run: () => this.runPass(),
      debounceMs: opts.debounceMs ?? 50,
      resyncMs: opts.resyncMs,
      onTrigger: (reason) => {
        // Anything but the deferred ones (a peer's lease, its links, its own lease: judged when
        // the pass starts) may have changed more than peers: the next pass reads the kernel.
        if (!DEFERRED_TRIGGERS.has(reason)) this.fullPassDue = true;
        deps.metrics.resyncs.inc({ trigger: reason });
        deps.logger.debug({ trigger: reason }, 'pass triggered');
      },
      onError: (e) => this.passFailed(e as Error & { code?: string }),
    });
  }

  isReady(): boolean {
    return this.ready;
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  /** A start-up/pass milestone at debug level (milestone.ts). */
  private milestone(msg: string, fields: Record<string, unknown> = {}): void {
    logMilestone(this.log, msg, fields);
  }

  async start(): Promise<void> {
    this.milestone('starting');
    this.startInformers();
    // Independent of each other, so they overlap: the lists (list, then watch from their
    // resourceVersion), this Node and the underlay it names, the netfilter mode.
    const [, , mode] = await Promise.all([
      Promise.all([this.networks.start(), this.leases.start()]).then(() =>
        this.milestone('informers synced', { leases: this.leases.keys().length }),
      ),
      this.readNode().then((node) => {
        this.milestone('node read');
        return this.selectUnderlay(node);
      }),
      this.deps.netfilter ? undefined : detectMode(this.opts.netfilter),
    ]);
    const nftWriters = new NftWriters();
    this.netfilter = this.deps.netfilter ?? new Netfilter(mode!, nftWriters);
    this.milestone('netfilter mode detected', { mode: this.netfilter.mode });
    this.watchers = this.deps.watchers ?? [
      // Told the port of the agent's writes, to pass over their echoes (not drift).
      new KernelWatcher(this.kernel instanceof Kernel ? this.kernel.port : undefined),
      ...(this.netfilter.mode === 'nftables'
        ? [new NftWatcher({ logger: this.log, writers: nftWriters })]
        : []),
    ];
    for (const w of this.watchers) {
      w.on('change', (what, note) => {
        if (note && !this.isDrift(note)) return;
        // Judged by the latest state of the link when the pass starts (linksAsWanted).
        if (note?.kind === 'link' && (note.name !== undefined || note.ifindex !== undefined)) {
          this.linkNotes.add(note);
          return this.trigger(LINK_TRIGGER);
        }
        this.trigger(what === 'nftables' ? 'nftables' : 'kernel');
      });
      w.start();
    }
    this.loop.start();
  }

  /** The API server may be unreachable for a while (control plane restart): keep trying. */
  private async readNode(): Promise<Node> {
    const { client } = this.deps;
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.get<Node>(`/api/v1/nodes/${encodeURIComponent(this.opts.nodeName)}`);
      } catch (e) {
        if (isNotFound(e)) {
          throw new AgentError(
            `Node ${this.opts.nodeName} not found (check --node-name / $NODE_NAME)`,
            'EAGENT_NO_NODE',
          );
        }
        if (this.stopped) throw e;
        // The dataplane the previous run left behind keeps forwarding meanwhile.
        const delay = backoffDelay(attempt, { baseMs: 500, maxMs: 30_000, jitter: 0.2 });
        this.log.warn({ err: e, retryInMs: delay }, 'cannot read this Node; retrying');
        await sleep(delay);
      }
    }
  }

  private async selectUnderlay(node: Node): Promise<void> {
    const internal = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP');
    const internalIP = internal.find((a) => !a.address.includes(':'))?.address;
    const internalIPv6 = internal.find((a) => a.address.includes(':'))?.address;
    const { iface, publicIP } = this.opts;
    // A node with no IPv4 InternalIP (IPv6-only underlay): the interface holding its IPv6 one.
    const ip6 = this.opts.publicIPv6 ?? internalIPv6;
    try {
      this.underlay = await this.kernel.underlay({
        iface,
        ip: publicIP ?? (iface ? undefined : (internalIP ?? ip6)),
      });
    } catch (e) {
      // A --public-ip that no interface holds (NAT): the underlay is the InternalIP's interface.
      if (iface || !publicIP || !internalIP) throw e;
      this.underlay = await this.kernel.underlay({ ip: internalIP });
    }
    this.publicIP = this.opts.publicIP ?? this.underlay.ip;
    const v6 = await this.kernel.underlayV6(this.underlay, this.opts.publicIPv6 ?? internalIPv6);
    if (v6) this.underlay = { ...this.underlay, ...v6 };
    const pub6 = this.opts.publicIPv6 ?? internalIPv6 ?? v6?.ipv6;
    this.publicIPv6 = pub6 ? (tryCanonicalIp(pub6) ?? pub6) : undefined;
    this.log.info(
      { underlay: this.underlay, publicIP: this.publicIP, publicIPv6: this.publicIPv6 },
      'underlay selected',
    );
  }

  private startInformers(): void {
    const { client } = this.deps;
    this.networks = new Informer<FlannelNetwork>({
      client,
      path: collectionPath(API_VERSION, FLANNEL_NETWORK.plural),
      fieldSelector: `metadata.name=${this.opts.network}`,
      logger: this.log.child({ informer: 'flannelnetworks' }),
    });
    this.leases = new Informer<SubnetLease>({
      client,
      path: collectionPath(API_VERSION, SUBNET_LEASE.plural),
      labelSelector: `${LABEL_NETWORK}=${this.opts.network}`,
      // Each page is a round trip to the API server before the first pass can start: 5,000
      // leases listed in 0.3-0.5 s in one page, 0.6-1.0 s in pages of 500 (make bench, loaded).
      pageSize: LEASE_LIST_PAGE,
      transform: (l) => slimLease(l, this.opts.nodeName),
      logger: this.log.child({ informer: 'subnetleases' }),
    });
    this.networks.on('add', () => this.trigger('api'));
    this.networks.on('update', () => this.trigger('api'));
    this.networks.on('delete', () => this.trigger('api'));
    this.leases.on('add', (l) => this.leaseChanged(l));
    this.leases.on('update', (l, old) => this.leaseChanged(l, old));
    this.leases.on('delete', (l) => this.leaseChanged(l));
  }

  /**
   * This node's lease: a full pass. A peer's: a peer pass (peerPass), and none at all when
   * nothing the peer plan reads changed (another agent's condition churn).
   */
  private leaseChanged(l: SubnetLease, old?: SubnetLease): void {
    if (l.spec.nodeName === this.opts.nodeName) {
      this.ownLeaseChanged = true;
      return this.trigger(OWN_LEASE_TRIGGER);
    }
    if (old && JSON.stringify(peerOfLease(l)) === JSON.stringify(peerOfLease(old))) return;
    this.changedPeers.add(l.spec.nodeName);
    // A lease naming another node now (nodeName is immutable, but an informer may miss a
    // delete and re-create): the former node is re-planned too.
    if (old && old.spec.nodeName !== l.spec.nodeName) this.changedPeers.add(old.spec.nodeName);
    this.trigger(PEER_TRIGGER);
  }

  /** What the last pass wanted (peer passes included). */
  get lastDesired(): DesiredState | undefined {
    return this.programmed?.state.planner.state();
  }

  /** Whether a kernel notification means drift, against what the last pass wanted (drift.ts). */
  private isDrift(note: KernelNote): boolean {
    const last = this.programmed;
    return !last || isDrift(note, this.driftIndex(last));
  }

  /** What the last pass wanted, indexed for the drift decisions (built at the first one). */
  private driftIndex(last: NonNullable<Agent['programmed']>): DesiredIndex {
    return (last.index ??= indexDesired(
      last.state.planner.state(),
      last.devices,
      tunnelDevices(last.state.cfg),
      { name: this.underlay.name, mtu: this.underlay.mtu },
    ));
  }

  /** Leaves the dataplane as it is: traffic keeps flowing while the agent restarts. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers) w.stop();
    this.leases?.stop();
    this.networks?.stop();
    await this.loop.stop();
    this.kernel.close();
  }

  trigger(reason: string, delay?: number): void {
    this.loop.trigger(reason, delay);
  }

  /** Resolves when a pass finished with nothing left to do (tests, bench). */
  settle(): Promise<void> {
    return this.loop.settle();
  }

  private passFailed(e: Error & { code?: string }): void {
    this.lastError = e.message;
    this.deps.metrics.errors.inc({ kind: e.code ?? 'unknown' });
    this.log.error({ err: e }, 'reconcile failed');
    const cur = this.current;
    if (!cur) return;
    const reason = (e.code ?? 'ReconcileError').replace(/[^A-Za-z0-9_]/g, '') || 'ReconcileError';
    void this.deps.events?.record(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        name: cur.lease.metadata.name ?? '',
        uid: cur.lease.metadata.uid,
      },
      'Warning',
      reason,
      'ProgramDataplane',
      e.message,
    );
    this.publishStatus(cur.lease, cur.cfg, { reason, message: e.message }).catch((err: unknown) =>
      this.log.warn({ err }, 'could not publish the failed Ready condition'),
    );
  }

  private ownLease(): SubnetLease | undefined {
    return this.leases.get(leaseName(this.opts.network, this.opts.nodeName));
  }

  /** A full pass when one is due, else a peer pass; a failed pass makes the next one full. */
  private async runPass(): Promise<void> {
    const deferred = this.deferredDrift();
    const full = this.fullPassDue || deferred || !this.programmed?.state.planner.incremental;
    this.fullPassDue = false;
    // A full pass reads every lease anyway; later changes are the next pass's.
    const changed = this.changedPeers;
    this.changedPeers = new Set();
    // Only the echoes of its own writes: nothing to do (each first pass used to start a second).
    if (!full && changed.size === 0) return this.passEnded();
    try {
      await (full ? this.reconcile() : this.peerPass(changed));
    } catch (e) {
      this.fullPassDue = true;
      throw e;
    } finally {
      this.passEnded();
    }
  }

  /**
   * The deferred triggers, judged now that the writes behind them have settled: its own lease at
   * a version other than the one its last status write returned (the echo can come before the
   * write's response), link notes whose latest state is not as wanted (drift.ts).
   */
  private deferredDrift(): boolean {
    const lease = this.ownLeaseChanged && !this.ownLeaseIsEcho();
    this.ownLeaseChanged = false;
    const notes = this.linkNotes.take();
    const last = this.programmed;
    const links = notes.length > 0 && (!last || !linksAsWanted(notes, this.driftIndex(last)));
    return lease || links;
  }

  /**
   * Its lease as its last status write left it, with what the last full pass read of it: that
   * version may also hold a spec someone changed just before the write, seen by no pass yet.
   */
  private ownLeaseIsEcho(): boolean {
    const now = this.ownLease();
    const read = this.current?.lease;
    if (!now || !read || now.metadata.resourceVersion !== this.ownStatusVersion) return false;
    return (
      now.metadata.generation === read.metadata.generation &&
      now.metadata.deletionTimestamp === read.metadata.deletionTimestamp &&
      JSON.stringify(now.spec) === JSON.stringify(read.spec)
    );
  }

  /** Resolves when the first pass is over, whatever its outcome. */
  firstPass(): Promise<void> {
    return this.firstPassEnded;
  }

  /**
   * Peers' leases changed and nothing else: each changed lease is set on the planner of the last
   * full pass (the one builder, with its cross-peer checks, work in proportion to the leases it
   * compares the change with), and only the objects that changed are written. No kernel dump, no
   * rules, files or status: none of them depend on peers. Drift is the full pass's (kernel
   * events, periodic resync).
   */
  private async peerPass(changed: Set<string>): Promise<void> {
    const started = process.hrtime.bigint();
    const last = this.programmed!;
    const { planner } = last.state;
    // The lease a full pass would take for each node (several may name one: leaseOfNode).
    const leases = this.leases.list();
    for (const node of changed) {
      const l = leaseOfNode(leases, node);
      planner.set(node, l && toPeer(l));
    }
    const diff = planner.takeDiff();
    // Before the writes, so their echoes are recognised as wanted (isDrift).
    if (last.index) updateIndex(last.index, diff);
    this.reportRejected(planner);
    const n = await this.applyKernelDiff(diff);
    this.recordPass(last.state, started, n);
  }

  private async reconcile(): Promise<void> {
    const started = process.hrtime.bigint();
    const net = this.networks.list()[0];
    if (!net) {
      this.ready = false;
      // Nothing programmed for now: no peer pass on the former planner.
      this.programmed = undefined;
      this.log.info({ network: this.opts.network }, 'waiting for FlannelNetwork');
      return;
    }
    const cfg = networkConfig(net);
    const lease = this.ownLease();
    // The subnet of the network's first family (IPv4, or IPv6 in an IPv6-only network).
    if (!lease || !(cfg.network ? lease.spec.subnet : lease.spec.ipv6Subnet)) {
      this.ready = false;
      this.programmed = undefined;
      this.log.info(
        { lease: leaseName(this.opts.network, this.opts.nodeName) },
        'waiting for SubnetLease',
      );
      return;
    }
    // From here on a failure is reported on this lease (Ready=False, Warning Event).
    this.current = { lease, cfg };
    // Always read the v6 device too, so one left behind by a former dual-stack config is removed.
    const actual = await this.kernel.readState(...tunnelDevices(cfg));
    this.milestone('kernel read', { routes: actual.routes.length });
    if (cfg.type === 'wireguard') await this.loadWireguardSecrets(cfg);
    const state = nodeDesiredState({
      network: net,
      lease,
      leases: this.leases.list(),
      node: this.nodeInfo(actual),
    });
    this.vtepMAC ??= state.self.vtepMAC;
    if (state.self.subnetV6) this.v6VtepMAC ??= state.self.v6VtepMAC;
    // Set before the writes, so their echoes are recognised as wanted (isDrift).
    this.programmed = { state, devices: this.deviceIndexes(actual) };
    this.reportRejected(state.planner);
    this.milestone('desired state built', { peers: state.desired.peers.length });
    let changes = await this.programKernel(state, actual);
    const kernelDone = process.hrtime.bigint();
    this.milestone('kernel programmed', { changes });
    changes += await this.ensureSysctls(cfg);
    changes += await this.ensureNetfilter(state.rules);
    const blocked = await this.checkForwarding(state.rules, lease);
    this.milestone('netfilter done');
    await writeFileAtomic(this.opts.subnetFile, renderSubnetEnv(state.subnetEnv));
    await writeFileAtomic(
      join(this.opts.cniConfDir, CNI_CONFLIST_NAME),
      renderConflist({ subnetFile: this.opts.subnetFile, dataDir: this.opts.cniDataDir }),
    );
    this.recordPass(state, started, changes, kernelDone);
    this.lastError = undefined;
    // Programmed, but not ready while another chain drops the traffic it is meant to carry.
    this.ready = !blocked;
    await this.publishStatus(lease, cfg);
  }

  /** What this node knows about itself: underlay, public IPs, its devices' MACs. */
  private nodeInfo(actual: ActualState): NodeInfo {
    return {
      nodeName: this.opts.nodeName,
      underlay: this.underlay,
      publicIP: this.publicIP,
      publicIPv6: this.publicIPv6,
      deviceMAC: actual.vxlan?.mac,
      deviceV6MAC: actual.vxlan6?.mac,
      vtepMAC: this.vtepMAC,
      v6VtepMAC: this.v6VtepMAC,
      publicKey: this.wgSecrets?.key.publicKey,
    };
  }

  /** The key pair (created once per node, reused after) and the pre-shared key, if any. */
  private async loadWireguardSecrets(cfg: AgentNetworkConfig): Promise<void> {
    const file = this.opts.wireguardKeyFile ?? DEFAULT_WIREGUARD_KEY_FILE;
    const key = await loadOrCreateKey(file, this.opts.wireguardImportKey || undefined);
    if (key.origin !== 'existing' || key.publicKey !== this.wgSecrets?.key.publicKey)
      this.log.info({ file, publicKey: key.publicKey, origin: key.origin }, 'wireguard key pair');
    let psk: WgSecrets['psk'];
    if (cfg.wireguard?.psk) {
      if (!this.opts.wireguardPskFile)
        throw new AgentError(
          'the network sets pskSecretRef but this agent has no --wireguard-psk-file (the controller mounts the Secret)',
          'EAGENT_WIREGUARD_PSK',
        );
      psk = await readPsk(this.opts.wireguardPskFile);
    }
    this.wgSecrets = { key, ...(psk ? { psk } : {}) };
  }

  /** The WireGuard devices and peers (kernel or wireguard-go, both through `wg`). */
  private async programWireguardDevices(state: NodeState): Promise<number> {
    const kernel = this.deps.wireguardKernel ?? (this.kernel as unknown as WireguardKernel);
    this.wireguard ??= new WireguardDevices(kernel, {
      wireguardGo: this.opts.wireguardGo,
      logger: this.log,
    });
    const changes = await programWireguard(
      this.wireguard,
      kernel,
      state.desired.wireguard ?? [],
      this.wgSecrets!,
      this.log,
    );
    const impl = this.wireguard.inUse;
    for (const i of ['kernel', 'userspace'] as const)
      this.deps.metrics.wireguardImplementation.set({ implementation: i }, impl === i ? 1 : 0);
    return changes;
  }

  /** Devices first (a recreated device loses its neighbors and FDB), then routes/neigh/FDB. */
  private async programKernel(state: NodeState, actual: ActualState): Promise<number> {
    const { desired, ownership: own } = state;
    let changes = 0;
    if (state.cfg.type === 'wireguard') changes += await this.programWireguardDevices(state);
    const devices = deviceDiff(desired, actual);
    for (const [action, dev, spec] of [
      [devices.vxlan, own.vxlanDev, desired.vxlan],
      [devices.vxlan6 ?? 'ok', own.vxlanDev6!, desired.vxlan6],
    ] as const) {
      if (action === 'ok') continue;
      await this.programDevice(action, dev, spec, state.cfg);
      changes++;
    }
    if (changes > 0) {
      // A device made or changed now: its routes, neighbours and FDB entries (none, for a new one)
      // and its index come from one read after the last change; diffed once, there.
      actual = await this.kernel.readState(own.vxlanDev, own.vxlanDev6);
      if (this.programmed) {
        this.programmed.devices = this.deviceIndexes(actual);
        this.programmed.index = undefined;
      }
    }
    return changes + (await this.applyKernelDiff(diffState(desired, actual, own)));
  }

  /** Interface indexes of the devices desired objects sit on (vxlan devices, underlay). */
  private deviceIndexes(actual: ActualState): Map<string, number> {
    const m = new Map<string, number>([[this.underlay.name, this.underlay.index]]);
    for (const v of [actual.vxlan, actual.vxlan6])
      if (v?.index !== undefined) m.set(v.name, v.index);
    return m;
  }

  /** Routes, neighbours and FDB entries of a diff (devices are programDevice's); how many. */
  private async applyKernelDiff(diff: Diff): Promise<number> {
    diff.vxlan = 'ok';
    diff.vxlan6 = 'ok';
    const n = diffCount(diff);
    if (n === 0) return 0;
    const hearAgain = n >= BULK_WRITES ? this.watchers.map((w) => w.deafen?.()) : [];
    let errors: Error[];
    try {
      errors = await this.kernel.applyDiff(diff);
    } finally {
      for (const hear of hearAgain) hear?.();
    }
    const m = this.deps.metrics.kernelOps;
    m.inc({ op: 'add' }, diff.addRoutes.length + diff.addNeighbors.length + diff.addFdb.length);
    m.inc(
      { op: 'replace' },
      diff.replaceRoutes.length + diff.replaceNeighbors.length + diff.replaceFdb.length,
    );
    m.inc(
      { op: 'remove' },
      diff.removeRoutes.length + diff.removeNeighbors.length + diff.removeFdb.length,
    );
    if (errors.length) {
      throw new AgentError(
        `${errors.length} kernel operation(s) failed, first: ${errors[0]!.message}`,
        'EAGENT_KERNEL',
      );
    }
    return n;
  }

  private async programDevice(
    action: 'create' | 'update' | 'delete',
    dev: string,
    spec: VxlanSpec | undefined,
    cfg: AgentNetworkConfig,
  ): Promise<void> {
    if (action === 'delete') await this.kernel.deleteLink(dev);
    else {
      try {
        await this.kernel.ensureVxlan(spec!, action);
      } catch (e) {
        const where = dev === vxlanDeviceName(cfg.vni) ? '' : `, local ${spec!.local}`;
        throw new AgentError(
          `cannot ${action} ${dev} (vni ${cfg.vni}, port ${cfg.port}${where}): ${(e as Error).message}`,
          'EAGENT_VXLAN_DEVICE',
        );
      }
    }
    this.log.info({ dev, action }, 'vxlan device programmed');
    this.deps.metrics.kernelOps.inc({ op: `device-${action}` });
  }

  /** Host-wide sysctls (src/agent/sysctl.ts): checked every pass, written only when they differ. */
  private async ensureSysctls(cfg: AgentNetworkConfig): Promise<number> {
    let changes = 0;
    for (const s of desiredSysctls(cfg)) {
      const r = await (this.deps.ensureSysctl ?? ensureSysctl)(s);
      if (r === 'changed') {
        this.log.info({ sysctl: s.key, value: s.value }, 'sysctl set');
        changes++;
      } else if (r === 'off' && !this.sysctlOff.has(s.key)) {
        this.log.warn(
          { sysctl: s.key, want: s.value },
          `${s.key} is not ${s.value} and cannot be changed here (${s.why})`,
        );
      }
      if (r === 'off') this.sysctlOff.add(s.key);
      else this.sysctlOff.delete(s.key);
    }
    return changes;
  }

  /** Own rules per family; a family no longer wanted (former dual-stack) loses its rules. */
  private async ensureNetfilter(ruleSets: RuleInput[]): Promise<number> {
    const nf = this.netfilter!;
    const families = ruleSets.map((r) => r.family).join(',');
    if (families !== this.ruleFamilies) {
      for (const f of ['ipv4', 'ipv6'] as const)
        if (!ruleSets.some((r) => r.family === f)) await nf.remove(f);
      this.ruleFamilies = families;
    }
    let changes = 0;
    for (const rules of ruleSets) {
      if (await nf.inSync(rules)) continue;
      await nf.apply(rules);
      this.log.info({ mode: nf.mode, family: rules.family }, 'netfilter rules applied');
      changes++;
    }
    return changes;
  }

  /**
   * Another nftables base chain at the forward hook that drops pod traffic cannot be overridden
   * from our table: say so (log, Warning Event, ForwardingBlocked condition, not ready).
   */
  private async checkForwarding(
    ruleSets: RuleInput[],
    lease: SubnetLease,
  ): Promise<string | undefined> {
    const probes = ruleSets.map((r) => ({ family: r.family, network: r.network }));
    const blockers = await this.netfilter!.forwardBlockers(probes).catch((err: unknown) => {
      this.log.warn({ err }, 'cannot inspect the forward hook; assuming it is not blocked');
      return [];
    });
    const message = blockers.map(describeBlocker).join('; ') || undefined;
    this.deps.metrics.forwardingBlocked.set(blockers.length);
    if (message && message !== this.forwardingBlocked) {
      this.log.warn({ blockers }, message);
      void this.deps.events?.record(
        {
          apiVersion: API_VERSION,
          kind: SUBNET_LEASE.kind,
          name: lease.metadata.name ?? '',
          uid: lease.metadata.uid,
        },
        'Warning',
        'ForwardingBlocked',
        'CheckForwarding',
        message,
      );
    } else if (!message && this.forwardingBlocked) {
      this.log.info('forwarded pod traffic no longer dropped by another chain');
    }
    this.forwardingBlocked = message;
    return message;
  }

  /** `kernelDone`: when the kernel part (read, plan, diff, writes) ended, before rules and files. */
  private recordPass(
    state: NodeState,
    started: bigint,
    changes: number,
    kernelDone = process.hrtime.bigint(),
  ): void {
    const m = this.deps.metrics;
    // Peers count once each (the IPv6 half of a dual-stack peer is not a second peer); an
    // IPv6-only network counts its IPv6 peers.
    const summary = state.planner.summary();
    for (const mode of ['vxlan', 'host-gw', 'wireguard'] as const)
      m.peers.set({ mode }, summary.modes[mode]);
    m.pending.set(summary.pending);
    m.programSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (changes > 0)
      this.log.info(
        {
          changes,
          peers: summary.peers,
          pending: summary.pending,
          ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
          kernelMs: Math.round(Number(kernelDone - started) / 1e6),
        },
        'dataplane reconciled',
      );
  }

  /** The backend as the Ready message names it; wireguard says which implementation runs. */
  private backendText(cfg: AgentNetworkConfig): string {
    if (cfg.type !== 'wireguard' || !this.wireguard?.inUse) return cfg.type;
    return `wireguard (${this.wireguard.inUse === 'kernel' ? 'kernel' : 'userspace wireguard-go'})`;
  }

  /** Warns (once per change) about peers refused as hostile or conflicting (peers.ts). */
  private reportRejected(planner: PeerPlanner): void {
    const rejected = planner.rejectedPeers();
    this.deps.metrics.rejected.set(rejected.length);
    const key = JSON.stringify(rejected);
    if (key === this.lastRejected) return;
    this.lastRejected = key;
    for (const p of rejected)
      this.log.warn({ peer: p.nodeName, reason: p.reason }, 'peer rejected: not programmed');
  }

  /**
   * Server-side applies this node's lease status. A `problem` (a failed pass) turns Ready False
   * with the error, so kubectl wait / Argo CD / the CLI show it.
   */
  private async publishStatus(
    lease: SubnetLease,
    cfg: AgentNetworkConfig,
    problem?: { reason: string; message: string },
  ): Promise<void> {
    const dual = !!cfg.ipv6Network && !!lease.spec.ipv6Subnet;
    const v6MAC = dual && cfg.type === 'vxlan' ? this.v6VtepMAC : undefined;
    // An IPv6-only network publishes no IPv4 data (no publicIP, no flannel.<vni> MAC).
    const v4MAC = cfg.network && cfg.type === 'vxlan' ? this.vtepMAC : undefined;
    const publicIP = cfg.network ? this.publicIP : undefined;
    const publicKey = this.wgSecrets?.key.publicKey;
    const backend =
      cfg.type === 'vxlan'
        ? {
            type: 'vxlan' as const,
            ...(v4MAC ? { vtepMAC: v4MAC } : {}),
            ...(v6MAC ? { v6VtepMAC: v6MAC } : {}),
            vni: cfg.vni,
          }
        : cfg.type === 'wireguard'
          ? { type: 'wireguard' as const, ...(publicKey ? { publicKey } : {}) }
          : { type: 'host-gw' as const };
    const publicIPv6 = dual ? this.publicIPv6 : undefined;
    const gen = lease.metadata.generation;
    const blocked = this.forwardingBlocked;
    const want = { publicIP, publicIPv6, backend, gen, problem, blocked };
    const key = JSON.stringify(want);
    const prev = lease.status;
    const upToDate =
      !problem &&
      !blocked &&
      prev?.conditions?.some((c) => c.type === 'ForwardingBlocked' && c.status === 'False') &&
      prev?.publicIP === publicIP &&
      prev.publicIPv6 === publicIPv6 &&
      JSON.stringify(prev.backend ?? {}) === JSON.stringify(backend) &&
      prev.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === gen,
      );
    if (upToDate || key === this.lastStatus) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const keep = (type: string, status: Condition['status']): string =>
      prev?.conditions?.find((c) => c.type === type && c.status === status)?.lastTransitionTime ??
      now;
    const bad =
      problem ?? (blocked ? { reason: 'ForwardingBlocked', message: blocked } : undefined);
    // Agents write only their own condition types (AGENT_CONDITION_TYPES; the chart's admission
    // policy enforces it): Ready carries a failure's reason and message.
    const conditions: Condition[] = [
      {
        type: 'Ready',
        status: bad ? 'False' : 'True',
        observedGeneration: gen,
        lastTransitionTime: keep('Ready', bad ? 'False' : 'True'),
        reason: bad ? bad.reason : 'DataplaneProgrammed',
        message: problem
          ? `dataplane programming failed on ${this.opts.nodeName}: ${problem.message}`.slice(
              0,
              4000,
            )
          : blocked
            ? `${cfg.type} dataplane programmed on ${this.opts.nodeName}, but another netfilter chain drops forwarded pod traffic (see ForwardingBlocked)`
            : `${this.backendText(cfg)} dataplane programmed on ${this.opts.nodeName}`,
      },
      {
        type: 'ForwardingBlocked',
        status: blocked ? 'True' : 'False',
        observedGeneration: gen,
        lastTransitionTime: keep('ForwardingBlocked', blocked ? 'True' : 'False'),
        reason: blocked ? 'ForeignChainDrops' : 'NotBlocked',
        message: blocked ? blocked.slice(0, 4000) : '',
      },
    ];
    const written = await this.deps.client.applyStatus<SubnetLease | undefined>(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        metadata: { name: lease.metadata.name },
        status: {
          observedGeneration: gen,
          ...(publicIP ? { publicIP } : {}),
          ...(publicIPv6 ? { publicIPv6 } : {}),
          backend,
          conditions,
        },
      },
      { fieldManager: FIELD_MANAGER_AGENT, force: true },
    );
    this.ownStatusVersion = written?.metadata?.resourceVersion;
    this.lastStatus = key;
    this.log.info(
      { lease: lease.metadata.name, publicIP: this.publicIP, vtepMAC: this.vtepMAC },
      'lease status published',
    );
  }
}
