import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  API_VERSION,
  FIELD_MANAGER_AGENT,
  FLANNEL_NETWORK,
  LABEL_NETWORK,
  SUBNET_LEASE,
  type Condition,
  type FlannelNetwork,
  type SubnetLease,
} from '../api/index.js';
import {
  Informer,
  backoffDelay,
  collectionPath,
  isNotFound,
  sleep,
  type EventRecorder,
  type KubeClient,
} from '../kube/index.js';
import { leaseName } from '../api/names.js';
import {
  canonicalCidr,
  canonicalIP,
  computeDesired,
  deriveV6VtepMAC,
  deriveVtepMAC,
  diffCount,
  diffState,
  isValidMac,
  normalizeMac,
  vxlan6DeviceName,
  vxlanDeviceName,
  type DesiredState,
  type NetworkConfig,
  type PeerLease,
  type SelfInfo,
  type UnderlayInfo,
} from './desired.js';
import { Kernel, KernelWatcher } from './kernel/netlink.js';
import { Netfilter, type NetfilterMode, detectMode } from './netfilter/apply.js';
import type { RuleInput } from './netfilter/render.js';
import { describeBlocker } from './netfilter/forward-check.js';
import { desiredSysctls, ensureSysctl } from './sysctl.js';
import { CNI_CONFLIST_NAME, renderConflist, renderSubnetEnv, writeFileAtomic } from './files.js';
import type { AgentMetrics } from './metrics.js';

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
}

export class AgentError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface Node {
  metadata: { name?: string };
  status?: { addresses?: Array<{ type: string; address: string }> };
}

/** Network config from a FlannelNetwork, with the CRD's defaults in case they were not applied. */
export function networkConfig(fn: FlannelNetwork): NetworkConfig & { ipMasq: boolean } {
  const b = fn.spec.backend ?? ({} as FlannelNetwork['spec']['backend']);
  if (!fn.spec.network)
    throw new AgentError(`FlannelNetwork ${fn.metadata.name} has no IPv4 network`, 'EAGENT_CONFIG');
  return {
    network: canonicalCidr(fn.spec.network),
    type: b.type ?? 'vxlan',
    vni: b.vni ?? 1,
    port: b.port ?? 8472,
    directRouting: b.directRouting ?? false,
    mtu: b.mtu,
    ipv6Network: fn.spec.ipv6Network ? canonicalCidr(fn.spec.ipv6Network) : undefined,
    ipMasq: fn.spec.ipMasq ?? true,
  };
}

export function toPeer(l: SubnetLease): PeerLease {
  return {
    nodeName: l.spec.nodeName,
    subnet: l.spec.subnet,
    publicIP: l.status?.publicIP,
    vtepMAC: l.status?.backend?.vtepMAC,
    ipv6Subnet: l.spec.ipv6Subnet,
    publicIPv6: l.status?.publicIPv6,
    v6VtepMAC: l.status?.backend?.v6VtepMAC,
    deleting: !!l.metadata.deletionTimestamp,
  };
}

/**
 * The per-node agent: publishes this node's backend data to its lease, and keeps the kernel
 * (vxlan device, routes, neighbors, FDB, netfilter, subnet.env, CNI config) equal to what all
 * leases of the network ask for. Level-triggered: every pass recomputes everything.
 */
export class Agent {
  private leases!: Informer<SubnetLease>;
  private networks!: Informer<FlannelNetwork>;
  private readonly kernel = new Kernel();
  private readonly watcher = new KernelWatcher();
  private netfilter?: Netfilter;
  private underlay!: UnderlayInfo;
  private publicIP!: string;
  private vtepMAC?: string;
  private publicIPv6?: string;
  private v6VtepMAC?: string;
  private running = false;
  private dirty = false;
  private pass?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private lastStatus = '';
  private ready = false;
  private stopped = false;
  lastDesired?: DesiredState;
  /** Own lease and config of the pass in progress, to report its failure. */
  private current?: { lease: SubnetLease; cfg: NetworkConfig };
  lastError?: string;
  /** Consecutive failed passes, for the retry backoff. */
  private failures = 0;
  /** Why forwarded pod traffic is dropped by a chain not ours (undefined: it is not). */
  forwardingBlocked?: string;
  /** Address families whose netfilter rules were last applied (others get removed). */
  private ruleFamilies?: string;
  private readonly sysctlOff = new Set<string>();

  constructor(
    private readonly opts: AgentOptions,
    private readonly deps: {
      client: KubeClient;
      logger: Logger;
      metrics: AgentMetrics;
      /** Warning Events on the lease when a pass fails (best effort). */
      events?: EventRecorder;
    },
  ) {}

  isReady(): boolean {
    return this.ready;
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  async start(): Promise<void> {
    const { client } = this.deps;
    // The API server may be unreachable for a while (control plane restart): keep trying, while
    // the dataplane the previous run left behind keeps forwarding.
    let node: Node | undefined;
    for (let attempt = 0; !node; attempt++) {
      try {
        node = await client.get<Node>(`/api/v1/nodes/${encodeURIComponent(this.opts.nodeName)}`);
      } catch (e) {
        if (isNotFound(e)) {
          throw new AgentError(
            `Node ${this.opts.nodeName} not found (check --node-name / $NODE_NAME)`,
            'EAGENT_NO_NODE',
          );
        }
        if (this.stopped) throw e;
        const delay = backoffDelay(attempt, { baseMs: 500, maxMs: 30_000, jitter: 0.2 });
        this.log.warn({ err: e, retryInMs: delay }, 'cannot read this Node; retrying');
        await sleep(delay);
      }
    }
    const internal = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP');
    const internalIP = internal.find((a) => !a.address.includes(':'))?.address;
    const internalIPv6 = internal.find((a) => a.address.includes(':'))?.address;
    const { iface, publicIP } = this.opts;
    try {
      this.underlay = await this.kernel.underlay({
        iface,
        ip: publicIP ?? (iface ? undefined : internalIP),
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
    this.publicIPv6 = pub6 ? canonicalIP(pub6) : undefined;
    this.log.info(
      { underlay: this.underlay, publicIP: this.publicIP, publicIPv6: this.publicIPv6 },
      'underlay selected',
    );
    this.netfilter = new Netfilter(await detectMode(this.opts.netfilter));

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
      logger: this.log.child({ informer: 'subnetleases' }),
    });
    for (const inf of [this.networks, this.leases] as Array<
      Informer<FlannelNetwork | SubnetLease>
    >) {
      inf.on('add', () => this.trigger('api'));
      inf.on('update', () => this.trigger('api'));
      inf.on('delete', () => this.trigger('api'));
    }
    await Promise.all([this.networks.start(), this.leases.start()]);
    this.watcher.on('change', () => this.trigger('kernel'));
    this.watcher.start();
    this.running = true;
    this.timer = setInterval(() => this.trigger('periodic', 0), this.opts.resyncMs);
    this.trigger('start', 0);
  }

  /** Leaves the dataplane as it is: traffic keeps flowing while the agent restarts. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.watcher.stop();
    this.leases?.stop();
    this.networks?.stop();
    await this.pass?.catch(() => undefined);
    this.kernel.close();
  }

  trigger(reason: string, delay = this.opts.debounceMs ?? 50): void {
    if (!this.running) return;
    this.deps.metrics.resyncs.inc({ trigger: reason });
    if (this.pass) {
      this.dirty = true;
      return;
    }
    // Coalesce bursts without postponing forever: a pending timer is only ever brought forward.
    this.schedule(delay);
  }

  private debounceAt = 0;
  private schedule(delay: number): void {
    const at = Date.now() + delay;
    if (this.debounce && this.debounceAt <= at) return;
    clearTimeout(this.debounce);
    this.debounceAt = at;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.runPass();
    }, delay);
  }

  /** Resolves when a pass finished with nothing left to do (tests, bench). */
  async settle(): Promise<void> {
    while (this.pass || this.dirty) await (this.pass ?? new Promise((r) => setTimeout(r, 10)));
  }

  private runPass(): void {
    if (this.pass || this.stopped) return;
    this.dirty = false;
    this.pass = this.reconcile()
      .catch((e: Error & { code?: string }) => {
        this.lastError = e.message;
        this.failures++;
        this.deps.metrics.errors.inc({ kind: e.code ?? 'unknown' });
        this.log.error({ err: e }, 'reconcile failed');
        this.dirty = true;
        const cur = this.current;
        if (cur) {
          const reason =
            (e.code ?? 'ReconcileError').replace(/[^A-Za-z0-9_]/g, '') || 'ReconcileError';
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
          this.publishStatus(cur.lease, cur.cfg, { reason, message: e.message }).catch(
            (err: unknown) => this.log.warn({ err }, 'could not publish the Degraded condition'),
          );
        }
      })
      .finally(() => {
        this.pass = undefined;
        if (this.dirty && this.running) {
          this.dirty = false;
          this.schedule(
            this.lastError
              ? backoffDelay(this.failures - 1, { baseMs: 1000, maxMs: 30_000, jitter: 0.1 })
              : 20,
          );
        }
      });
  }

  private ownLease(): SubnetLease | undefined {
    return this.leases.get(leaseName(this.opts.network, this.opts.nodeName));
  }

  private async reconcile(): Promise<void> {
    const started = process.hrtime.bigint();
    const net = this.networks.list()[0];
    if (!net) {
      this.ready = false;
      this.log.info({ network: this.opts.network }, 'waiting for FlannelNetwork');
      return;
    }
    const cfg = networkConfig(net);
    const lease = this.ownLease();
    if (!lease?.spec.subnet) {
      this.ready = false;
      this.log.info(
        { lease: leaseName(this.opts.network, this.opts.nodeName) },
        'waiting for SubnetLease',
      );
      return;
    }
    this.current = { lease, cfg };
    const subnet = canonicalCidr(lease.spec.subnet);
    const dev = vxlanDeviceName(cfg.vni);
    const dev6 = vxlan6DeviceName(cfg.vni);
    const subnetV6 =
      cfg.ipv6Network && lease.spec.ipv6Subnet ? canonicalCidr(lease.spec.ipv6Subnet) : undefined;
    // Always read flannel-v6 too, so one left behind by a former dual-stack config is removed.
    const actual0 = await this.kernel.readState(dev, dev6);
    this.vtepMAC ??= this.pickMAC(lease, actual0.vxlan?.mac, cfg.vni);
    if (subnetV6) this.v6VtepMAC ??= this.pickV6MAC(lease, actual0.vxlan6?.mac, cfg.vni);
    const self: SelfInfo = {
      nodeName: this.opts.nodeName,
      subnet,
      publicIP: this.publicIP,
      underlay: this.underlay,
      vtepMAC: this.vtepMAC,
      subnetV6,
      publicIPv6: this.publicIPv6,
      v6VtepMAC: this.v6VtepMAC,
    };
    const desired = computeDesired(self, cfg, this.leases.list().map(toPeer));
    this.lastDesired = desired;
    const own = {
      network: cfg.network,
      vxlanDev: dev,
      ownSubnet: subnet,
      network6: cfg.ipv6Network,
      vxlanDev6: dev6,
      ownSubnet6: subnetV6,
    };

    let diff = diffState(desired, actual0, own);
    let changes = 0;
    if (diff.vxlan !== 'ok') {
      if (diff.vxlan === 'delete') await this.kernel.deleteLink(dev);
      else {
        try {
          await this.kernel.ensureVxlan(desired.vxlan!, diff.vxlan);
        } catch (e) {
          throw new AgentError(
            `cannot ${diff.vxlan} ${dev} (vni ${cfg.vni}, port ${cfg.port}): ${(e as Error).message}`,
            'EAGENT_VXLAN_DEVICE',
          );
        }
      }
      this.log.info({ dev, action: diff.vxlan }, 'vxlan device programmed');
      this.deps.metrics.kernelOps.inc({ op: `device-${diff.vxlan}` });
      changes++;
      diff = diffState(desired, await this.kernel.readState(dev, dev6), own);
    }
    const action6 = diff.vxlan6 ?? 'ok';
    if (action6 !== 'ok') {
      if (action6 === 'delete') await this.kernel.deleteLink(dev6);
      else {
        try {
          await this.kernel.ensureVxlan(desired.vxlan6!, action6);
        } catch (e) {
          throw new AgentError(
            `cannot ${action6} ${dev6} (vni ${cfg.vni}, port ${cfg.port}, local ${desired.vxlan6!.local}): ${(e as Error).message}`,
            'EAGENT_VXLAN_DEVICE',
          );
        }
      }
      this.log.info({ dev: dev6, action: action6 }, 'vxlan device programmed');
      this.deps.metrics.kernelOps.inc({ op: `device-${action6}` });
      changes++;
      diff = diffState(desired, await this.kernel.readState(dev, dev6), own);
    }
    // Both devices are dealt with above; the count below is of routes, neighbors and fdb.
    diff.vxlan = 'ok';
    diff.vxlan6 = 'ok';
    const n = diffCount(diff);
    if (n > 0) {
      const errors = await this.kernel.applyDiff(diff);
      changes += n;
      this.deps.metrics.kernelOps.inc(
        { op: 'add' },
        diff.addRoutes.length + diff.addNeighbors.length + diff.addFdb.length,
      );
      this.deps.metrics.kernelOps.inc(
        { op: 'replace' },
        diff.replaceRoutes.length + diff.replaceNeighbors.length + diff.replaceFdb.length,
      );
      this.deps.metrics.kernelOps.inc(
        { op: 'remove' },
        diff.removeRoutes.length + diff.removeNeighbors.length + diff.removeFdb.length,
      );
      if (errors.length) {
        throw new AgentError(
          `${errors.length} kernel operation(s) failed, first: ${errors[0]!.message}`,
          'EAGENT_KERNEL',
        );
      }
    }

    const ruleSets: RuleInput[] = [
      { family: 'ipv4', network: cfg.network, podSubnet: subnet, ipMasq: cfg.ipMasq },
    ];
    // Dual-stack networks: the v6 masquerade/forward rules (v6 routes between nodes: not yet).
    if (net.spec.ipv6Network && lease.spec.ipv6Subnet) {
      ruleSets.push({
        family: 'ipv6',
        network: canonicalCidr(net.spec.ipv6Network),
        podSubnet: canonicalCidr(lease.spec.ipv6Subnet),
        ipMasq: cfg.ipMasq,
      });
    }
    changes += await this.ensureSysctls(cfg);
    changes += await this.ensureNetfilter(ruleSets);
    const blocked = await this.checkForwarding(ruleSets, lease);
    await writeFileAtomic(
      this.opts.subnetFile,
      renderSubnetEnv({
        network: cfg.network,
        subnet,
        ipv6Network: net.spec.ipv6Network,
        ipv6Subnet: lease.spec.ipv6Subnet,
        mtu: desired.podMTU,
        ipMasq: cfg.ipMasq,
      }),
    );
    await writeFileAtomic(
      join(this.opts.cniConfDir, CNI_CONFLIST_NAME),
      renderConflist({ subnetFile: this.opts.subnetFile, dataDir: this.opts.cniDataDir }),
    );

    const m = this.deps.metrics;
    // Peers count once each (the IPv6 half of a dual-stack peer is not a second peer).
    const peers4 = desired.peers.filter((p) => !p.family);
    m.peers.set({ mode: 'vxlan' }, peers4.filter((p) => p.mode === 'vxlan').length);
    m.peers.set({ mode: 'host-gw' }, peers4.filter((p) => p.mode === 'host-gw').length);
    m.pending.set(desired.pending.length);
    m.programSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (changes > 0)
      this.log.info(
        {
          changes,
          peers: desired.peers.length,
          pending: desired.pending.length,
          ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
        },
        'dataplane reconciled',
      );
    this.lastError = undefined;
    this.failures = 0;
    // Programmed, but not ready while another chain drops the traffic it is meant to carry.
    this.ready = !blocked;
    await this.publishStatus(lease, cfg);
  }

  /** Host-wide sysctls (src/agent/sysctl.ts): checked every pass, written only when they differ. */
  private async ensureSysctls(cfg: NetworkConfig): Promise<number> {
    let changes = 0;
    for (const s of desiredSysctls(cfg)) {
      const r = await ensureSysctl(s);
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

  /** Lease status first (a migrated node keeps its MAC), then the live device, then derived. */
  private pickMAC(lease: SubnetLease, deviceMAC: string | undefined, vni: number): string {
    const fromLease = lease.status?.backend?.vtepMAC;
    if (fromLease && isValidMac(fromLease)) return normalizeMac(fromLease);
    if (deviceMAC && isValidMac(deviceMAC)) return normalizeMac(deviceMAC);
    return deriveVtepMAC(this.opts.nodeName, vni);
  }

  private pickV6MAC(lease: SubnetLease, deviceMAC: string | undefined, vni: number): string {
    const fromLease = lease.status?.backend?.v6VtepMAC;
    if (fromLease && isValidMac(fromLease)) return normalizeMac(fromLease);
    if (deviceMAC && isValidMac(deviceMAC)) return normalizeMac(deviceMAC);
    return deriveV6VtepMAC(this.opts.nodeName, vni);
  }

  /**
   * Server-side applies this node's lease status. A `problem` (a failed pass) turns Ready False
   * and Degraded True with the error, so kubectl wait / Argo CD / the CLI show it.
   */
  private async publishStatus(
    lease: SubnetLease,
    cfg: NetworkConfig,
    problem?: { reason: string; message: string },
  ): Promise<void> {
    const dual = !!cfg.ipv6Network && !!lease.spec.ipv6Subnet;
    const v6MAC = dual && cfg.type === 'vxlan' ? this.v6VtepMAC : undefined;
    const backend =
      cfg.type === 'vxlan'
        ? {
            type: 'vxlan' as const,
            vtepMAC: this.vtepMAC,
            ...(v6MAC ? { v6VtepMAC: v6MAC } : {}),
            vni: cfg.vni,
          }
        : { type: 'host-gw' as const };
    const publicIPv6 = dual ? this.publicIPv6 : undefined;
    const gen = lease.metadata.generation;
    const blocked = this.forwardingBlocked;
    const want = { publicIP: this.publicIP, publicIPv6, backend, gen, problem, blocked };
    const key = JSON.stringify(want);
    const prev = lease.status;
    const upToDate =
      !problem &&
      !blocked &&
      prev?.conditions?.some((c) => c.type === 'ForwardingBlocked' && c.status === 'False') &&
      prev?.publicIP === this.publicIP &&
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
    const conditions: Condition[] = [
      {
        type: 'Ready',
        status: bad ? 'False' : 'True',
        observedGeneration: gen,
        lastTransitionTime: keep('Ready', bad ? 'False' : 'True'),
        reason: bad ? bad.reason : 'DataplaneProgrammed',
        message: problem
          ? `dataplane programming failed on ${this.opts.nodeName}`
          : blocked
            ? `${cfg.type} dataplane programmed on ${this.opts.nodeName}, but another netfilter chain drops forwarded pod traffic (see ForwardingBlocked)`
            : `${cfg.type} dataplane programmed on ${this.opts.nodeName}`,
      },
      {
        type: 'ForwardingBlocked',
        status: blocked ? 'True' : 'False',
        observedGeneration: gen,
        lastTransitionTime: keep('ForwardingBlocked', blocked ? 'True' : 'False'),
        reason: blocked ? 'ForeignChainDrops' : 'NotBlocked',
        message: blocked ? blocked.slice(0, 4000) : '',
      },
      {
        type: 'Reconciling',
        status: 'False',
        observedGeneration: gen,
        lastTransitionTime: keep('Reconciling', 'False'),
        reason: 'Idle',
        message: '',
      },
      {
        type: 'Degraded',
        status: bad ? 'True' : 'False',
        observedGeneration: gen,
        lastTransitionTime: keep('Degraded', bad ? 'True' : 'False'),
        reason: bad ? bad.reason : 'Healthy',
        message: bad ? bad.message.slice(0, 4000) : '',
      },
    ];
    await this.deps.client.applyStatus(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        metadata: { name: lease.metadata.name },
        status: {
          observedGeneration: gen,
          publicIP: this.publicIP,
          ...(publicIPv6 ? { publicIPv6 } : {}),
          backend,
          conditions,
        },
      },
      { fieldManager: FIELD_MANAGER_AGENT, force: true },
    );
    this.lastStatus = key;
    this.log.info(
      { lease: lease.metadata.name, publicIP: this.publicIP, vtepMAC: this.vtepMAC },
      'lease status published',
    );
  }
}
