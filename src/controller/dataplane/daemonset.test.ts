import type { V1Container, V1DaemonSet } from '@kubernetes/client-node';
import type { FlannelNetwork, FlannelNetworkSpec } from '../../api/index.js';
import { AGENT_NODE_OPTIONS } from '../../agent/launch.js';
import {
  CONFIG_HASH_ANNOTATION,
  DEFAULT_NETPOL_ARGS,
  DEFAULT_NETPOL_IMAGE,
  DataplaneSpecError,
  daemonSetName,
  desiredDaemonSet,
  nodeRequirements,
  type DaemonSetOptions,
} from './daemonset.js';
import { DataplaneConfigError, parseDataplaneConfig } from './config.js';
import { rolloutStatus } from './rollout.js';
import { createDataplaneRollout } from './index.js';

const OPTS: DaemonSetOptions = {
  namespace: 'flannel-system',
  agentImage: 'example.org/flannel-operator:1.2.3',
  cniPluginImage: 'example.org/flannel-cni-plugin:v1',
};

function network(spec: Partial<FlannelNetworkSpec> = {}, name = 'default'): FlannelNetwork {
  return {
    apiVersion: 'network.flannel-operator.io/v1alpha1',
    kind: 'FlannelNetwork',
    metadata: { name, uid: '1111-2222', generation: 1, resourceVersion: '10' },
    spec: {
      network: '10.244.0.0/16',
      backend: { type: 'vxlan', vni: 1, port: 8472, directRouting: false, gbp: false },
      ipMasq: true,
      netpol: { enabled: false },
      ...spec,
    } as FlannelNetworkSpec,
  };
}

const hash = (ds: V1DaemonSet): string =>
  ds.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]!;
const container = (ds: V1DaemonSet, name: string): V1Container | undefined =>
  ds.spec!.template.spec!.containers.find((c) => c.name === name);

describe('desiredDaemonSet', () => {
  it('wireguard: host key directory, a writable /run/wireguard, the PSK as a Secret volume (no Secret RBAC)', () => {
    const wg = (backend: Record<string, unknown>) =>
      desiredDaemonSet(
        network({ backend: { ...network().spec.backend, type: 'wireguard', ...backend } }),
        OPTS,
      );
    const plain = wg({});
    const agent = container(plain, 'agent')!;
    expect(agent.args).toContain(
      '--wireguard-key-file=/var/lib/flannel-operator/wireguard/private.key',
    );
    expect(agent.args!.some((a) => a.startsWith('--wireguard-psk-file'))).toBe(false);
    expect(plain.spec!.template.spec!.volumes).toEqual(
      expect.arrayContaining([
        {
          name: 'wireguard-key',
          hostPath: { path: '/var/lib/flannel-operator/wireguard', type: 'DirectoryOrCreate' },
        },
        { name: 'wireguard-run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      ]),
    );
    const psk = wg({ pskSecretRef: { name: 'wg-psk', key: 'k' } });
    expect(container(psk, 'agent')!.args).toContain(
      '--wireguard-psk-file=/etc/flannel-operator/wireguard-psk/psk',
    );
    expect(psk.spec!.template.spec!.volumes).toContainEqual({
      name: 'wireguard-psk',
      secret: { secretName: 'wg-psk', items: [{ key: 'k', path: 'psk' }], defaultMode: 0o400 },
    });
    expect(container(psk, 'agent')!.volumeMounts).toContainEqual({
      name: 'wireguard-psk',
      mountPath: '/etc/flannel-operator/wireguard-psk',
      readOnly: true,
    });
    // Changing the PSK Secret reference rolls the agents.
    expect(hash(psk)).not.toBe(hash(plain));
  });

  it('builds one hostNetwork, node-critical DaemonSet per network, owned by the network', () => {
    const ds = desiredDaemonSet(network(), OPTS);
    expect(ds.metadata).toMatchObject({
      name: 'flannel-agent-default',
      namespace: 'flannel-system',
      ownerReferences: [
        {
          apiVersion: 'network.flannel-operator.io/v1alpha1',
          kind: 'FlannelNetwork',
          name: 'default',
          uid: '1111-2222',
          controller: true,
        },
      ],
    });
    const spec = ds.spec!;
    expect(spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'flannel-agent',
      'network.flannel-operator.io/network': 'default',
    });
    expect(spec.template.metadata!.labels).toMatchObject(spec.selector.matchLabels!);
    expect(spec.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    const pod = spec.template.spec!;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe('flannel-operator-agent');
    expect(pod.initContainers!.map((c) => c.name)).toEqual(['install-cni-plugin']);
    expect(pod.initContainers![0]).toMatchObject({
      image: 'example.org/flannel-cni-plugin:v1',
      command: ['cp'],
      args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
    });
    expect(pod.containers.map((c) => c.name)).toEqual(['agent']);
    const agent = container(ds, 'agent')!;
    expect(agent.image).toBe(OPTS.agentImage);
    // The image's node, from the agent's startup snapshot (agent/launch.ts).
    expect(agent.command).toEqual([
      'node',
      '--snapshot-blob',
      '/opt/flannel-operator/agent.blob',
      'agent',
    ]);
    expect(agent.args!.slice(0, 2)).toEqual(['--network', 'default']);
    expect(agent.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
    });
    expect(agent.env!.map((e) => e.name)).toContain('POD_NAMESPACE');
    expect(agent.env).toContainEqual({ name: 'NODE_OPTIONS', value: AGENT_NODE_OPTIONS });
    expect(agent.securityContext!.capabilities!.add).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(agent.securityContext!.privileged).toBe(false);
    expect(agent.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(agent.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(agent.volumeMounts!.map((m) => m.mountPath).sort()).toEqual([
      '/etc/cni/net.d',
      '/run/flannel',
      '/run/xtables.lock',
      '/tmp',
    ]);
    const hostPaths = Object.fromEntries(
      pod.volumes!.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]),
    );
    expect(hostPaths).toEqual({
      'run-flannel': '/run/flannel',
      'cni-plugin': '/opt/cni/bin',
      'cni-conf': '/etc/cni/net.d',
      'xtables-lock': '/run/xtables.lock',
    });
    // Every linux node when the network has no selector.
    expect(
      pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms,
    ).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
    ]);
    expect(hash(ds)).toMatch(/^[0-9a-f]{16}$/);
    expect(ds.metadata!.annotations![CONFIG_HASH_ANNOTATION]).toBe(hash(ds));
  });

  it.each([
    ['vxlan', { type: 'vxlan', vni: 1, port: 8472, directRouting: false, gbp: false }],
    ['host-gw', { type: 'host-gw', vni: 1, port: 8472, directRouting: false, gbp: false }],
    [
      'vxlan+directRouting',
      { type: 'vxlan', vni: 4096, port: 4789, directRouting: true, gbp: false },
    ],
  ] as const)('backend %s: same pod shape, distinct config hash', (_name, backend) => {
    const base = desiredDaemonSet(network(), OPTS);
    const ds = desiredDaemonSet(network({ backend: { ...backend } }), OPTS);
    expect(ds.spec!.template.spec!.containers.map((c) => c.name)).toEqual(['agent']);
    expect(container(ds, 'agent')!.securityContext!.capabilities!.add).toEqual([
      'NET_ADMIN',
      'NET_RAW',
    ]);
    if (_name === 'vxlan') expect(hash(ds)).toBe(hash(base));
    else expect(hash(ds)).not.toBe(hash(base));
  });

  it('adds the kube-network-policies sidecar only when netpol is enabled', () => {
    const off = desiredDaemonSet(network(), OPTS);
    expect(container(off, 'kube-network-policies')).toBeUndefined();
    expect(off.spec!.template.spec!.volumes!.map((v) => v.name)).not.toContain('lib-modules');

    const on = desiredDaemonSet(network({ netpol: { enabled: true } }), OPTS);
    const np = container(on, 'kube-network-policies')!;
    expect(np.image).toBe(DEFAULT_NETPOL_IMAGE);
    expect(np.args).toEqual(DEFAULT_NETPOL_ARGS);
    expect(np.args).toEqual(['--hostname-override=$(MY_NODE_NAME)', '--v=2']);
    expect(np.env).toEqual([
      {
        name: 'MY_NODE_NAME',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
      },
    ]);
    expect(np.securityContext).toEqual({ privileged: true });
    expect(np.volumeMounts).toEqual([
      { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
    ]);
    expect(hash(on)).not.toBe(hash(off));

    const fromOpts = desiredDaemonSet(network({ netpol: { enabled: true } }), {
      ...OPTS,
      netpolImage: 'example.org/netpol:2',
    });
    expect(container(fromOpts, 'kube-network-policies')!.image).toBe('example.org/netpol:2');
    const argsFromOpts = desiredDaemonSet(network({ netpol: { enabled: true } }), {
      ...OPTS,
      netpolArgs: ['--v=4'],
    });
    expect(container(argsFromOpts, 'kube-network-policies')!.args).toEqual(['--v=4']);
    // Image and args in a FlannelNetwork (older CRD, validation off) are never used.
    const fromCr = desiredDaemonSet(
      network({
        netpol: { enabled: true, image: 'evil.example/root:1', args: ['--evil'] },
      } as never),
      { ...OPTS, netpolImage: 'example.org/netpol:2' },
    );
    expect(container(fromCr, 'kube-network-policies')).toMatchObject({
      image: 'example.org/netpol:2',
      args: DEFAULT_NETPOL_ARGS,
    });
    expect(hash(fromCr)).toBe(
      hash(
        desiredDaemonSet(network({ netpol: { enabled: true } }), {
          ...OPTS,
          netpolImage: 'example.org/netpol:2',
        }),
      ),
    );
  });

  it('turns the network nodeSelector into required node affinity', () => {
    const ds = desiredDaemonSet(
      network({
        nodeSelector: {
          matchLabels: { pool: 'blue', zone: 'a' },
          matchExpressions: [
            { key: 'node-role.kubernetes.io/edge', operator: 'DoesNotExist' },
            { key: 'arch', operator: 'In', values: ['amd64', 'arm64'] },
            { key: 'tier', operator: 'NotIn', values: ['gpu'] },
            { key: 'flannel', operator: 'Exists' },
          ],
        },
      }),
      { ...OPTS, nodeSelector: { 'example.org/cni': 'flannel' } },
    );
    const terms =
      ds.spec!.template.spec!.affinity!.nodeAffinity!
        .requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
    expect(terms).toHaveLength(1); // one term: all requirements ANDed, like a label selector
    expect(terms[0]!.matchExpressions).toEqual([
      { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
      { key: 'example.org/cni', operator: 'In', values: ['flannel'] },
      { key: 'pool', operator: 'In', values: ['blue'] },
      { key: 'zone', operator: 'In', values: ['a'] },
      { key: 'node-role.kubernetes.io/edge', operator: 'DoesNotExist' },
      { key: 'arch', operator: 'In', values: ['amd64', 'arm64'] },
      { key: 'tier', operator: 'NotIn', values: ['gpu'] },
      { key: 'flannel', operator: 'Exists' },
    ]);
  });

  it('rejects selectors a node affinity cannot express', () => {
    expect(() =>
      nodeRequirements({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
    ).toThrow(DataplaneSpecError);
    expect(() =>
      nodeRequirements({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
    ).toThrow(/takes no values/);
    expect(() => nodeRequirements({ matchLabels: { pool: 'a' } }, { pool: 'b' })).toThrow(
      /contradicts/,
    );
    expect(() => desiredDaemonSet(network(), { ...OPTS, agentImage: '' })).toThrow(
      /no agent image/,
    );
  });

  it('changes the hash only when the agents must restart', () => {
    const base = network();
    const h = hash(desiredDaemonSet(base, OPTS));
    const same = (n: FlannelNetwork, o: DaemonSetOptions = OPTS): void =>
      expect(hash(desiredDaemonSet(n, o))).toBe(h);
    const differs = (n: FlannelNetwork, o: DaemonSetOptions = OPTS): void =>
      expect(hash(desiredDaemonSet(n, o))).not.toBe(h);

    // Bookkeeping, status and allocation knobs: no restart.
    same({ ...base, metadata: { ...base.metadata, resourceVersion: '99', generation: 7 } });
    same({ ...base, metadata: { ...base.metadata, labels: { team: 'net' } } });
    same({
      ...base,
      status: { observedGeneration: 1, allocated: 3, conditions: [] },
    });
    same(network({ subnetLen: 26, subnetMin: '10.244.4.0', reservedSubnets: ['10.244.9.0/24'] }));
    // Key order does not matter.
    same(
      network({
        backend: { gbp: false, directRouting: false, port: 8472, vni: 1, type: 'vxlan' },
      }),
    );
    // Defaults spelled out or left out are the same config.
    same({ ...base, spec: { network: '10.244.0.0/16' } as FlannelNetworkSpec });

    // Kernel-relevant config and pod shape: restart.
    differs(
      network({ backend: { type: 'vxlan', vni: 2, port: 8472, directRouting: false, gbp: false } }),
    );
    differs(
      network({
        backend: { type: 'vxlan', vni: 1, port: 8472, mtu: 1400, directRouting: false, gbp: false },
      }),
    );
    differs(network({ ipMasq: false }));
    differs(network({ network: '10.245.0.0/16' }));
    differs(network({ ipv6Network: 'fd00:10:244::/56' }));
    differs(network({ nodeSelector: { matchLabels: { pool: 'a' } } }));
    differs(base, { ...OPTS, agentImage: 'example.org/flannel-operator:1.2.4' });
    differs(base, { ...OPTS, cniBinDir: '/usr/libexec/cni' });
    differs(base, { ...OPTS, agentResources: { requests: { cpu: '1' } } });
  });

  it('keeps DaemonSet names valid and distinct for long or dotted network names', () => {
    expect(daemonSetName('default')).toBe('flannel-agent-default');
    const long1 = 'n'.repeat(80) + '-one';
    const long2 = 'n'.repeat(80) + '-two';
    for (const n of [long1, long2, 'pods.example.org', 'a'.repeat(49)]) {
      const name = daemonSetName(n);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(daemonSetName(long1)).not.toBe(daemonSetName(long2));
    expect(daemonSetName('a'.repeat(49))).toBe(`flannel-agent-${'a'.repeat(49)}`);
    const ds = desiredDaemonSet(network({}, long1), OPTS);
    const netLabel = ds.spec!.selector.matchLabels!['network.flannel-operator.io/network']!;
    expect(netLabel.length).toBeLessThanOrEqual(63);
    expect(container(ds, 'agent')!.args).toContain(long1);
  });

  it('applies pod config: dirs, pull policy, tolerations, resources, ports', () => {
    const ds = desiredDaemonSet(network(), {
      ...OPTS,
      cniBinDir: '/usr/libexec/cni',
      cniConfDir: '/etc/kubernetes/cni/net.d',
      imagePullPolicy: 'Never',
      imagePullSecrets: ['regcred'],
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' }],
      healthPort: 19102,
      metricsPort: 19101,
      netfilter: 'iptables',
      serviceAccountName: 'custom-agent',
    });
    const pod = ds.spec!.template.spec!;
    const vol = (n: string) => pod.volumes!.find((v) => v.name === n)!.hostPath!.path;
    expect(vol('cni-plugin')).toBe('/usr/libexec/cni');
    expect(vol('cni-conf')).toBe('/etc/kubernetes/cni/net.d');
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' },
    ]);
    expect(pod.serviceAccountName).toBe('custom-agent');
    const agent = container(ds, 'agent')!;
    expect(agent.imagePullPolicy).toBe('Never');
    expect(agent.args).toEqual(
      expect.arrayContaining([
        '--health-probe-bind-address=:19102',
        '--metrics-bind-address=:19101',
        '--netfilter=iptables',
      ]),
    );
    expect(agent.readinessProbe!.httpGet!.port).toBe(19102);
  });

  it("passes the controller's events namespace to the agents", () => {
    expect(container(desiredDaemonSet(network(), OPTS), 'agent')!.args!.join(' ')).not.toContain(
      '--events-namespace',
    );
    const ds = desiredDaemonSet(network(), { ...OPTS, eventsNamespace: 'kube-system' });
    expect(container(ds, 'agent')!.args).toContain('--events-namespace=kube-system');
  });

  it('leaves ownerReferences out when the network has no uid yet', () => {
    const n = network();
    delete n.metadata.uid;
    expect(desiredDaemonSet(n, OPTS).metadata!.ownerReferences).toBeUndefined();
  });
});

describe('rolloutStatus', () => {
  const live = (status: V1DaemonSet['status'], generation = 2): V1DaemonSet => ({
    metadata: { generation, annotations: {} },
    spec: {
      selector: {},
      template: { metadata: { annotations: { [CONFIG_HASH_ANNOTATION]: 'abc' } } },
    },
    status,
  });
  it('counts updated pods only once the DaemonSet controller observed the generation', () => {
    expect(
      rolloutStatus(
        live({
          observedGeneration: 2,
          desiredNumberScheduled: 3,
          numberReady: 3,
          updatedNumberScheduled: 2,
          currentNumberScheduled: 3,
          numberMisscheduled: 0,
        }),
        'x',
      ),
    ).toEqual({ desired: 3, ready: 3, updated: 2, configHash: 'abc' });
    expect(
      rolloutStatus(
        live({
          observedGeneration: 1,
          desiredNumberScheduled: 3,
          numberReady: 3,
          updatedNumberScheduled: 3,
          currentNumberScheduled: 3,
          numberMisscheduled: 0,
        }),
        'x',
      ).updated,
    ).toBe(0);
    expect(rolloutStatus(live(undefined, 1), 'x')).toEqual({
      desired: 0,
      ready: 0,
      updated: 0,
      configHash: 'abc',
    });
  });
});

describe('dataplane config from the chart', () => {
  it('parses and validates FLANNEL_OPERATOR_DATAPLANE', () => {
    expect(
      parseDataplaneConfig(
        JSON.stringify({
          cniBinDir: '/opt/cni/bin',
          agentResources: { requests: { cpu: '100m', memory: 50 } },
          tolerations: [{ operator: 'Exists' }],
        }),
      ),
    ).toEqual({
      cniBinDir: '/opt/cni/bin',
      agentResources: { requests: { cpu: '100m', memory: '50' } },
      tolerations: [{ operator: 'Exists' }],
    });
    expect(() => parseDataplaneConfig('{nope')).toThrow(DataplaneConfigError);
    expect(() => parseDataplaneConfig('{"cniBinDir":"relative"}')).toThrow(/cniBinDir/);
    expect(() => parseDataplaneConfig('{"unknownKey":1}')).toThrow(/unknownKey|Unrecognized/);
  });

  it('createDataplaneRollout reads the env when no pod config is passed', () => {
    const fake = {} as never;
    expect(() =>
      createDataplaneRollout(
        { client: fake, logger: fake },
        {
          namespace: 'x',
          agentImage: 'img',
          env: { FLANNEL_OPERATOR_DATAPLANE: '{"healthPort":"x"}' },
        },
      ),
    ).toThrow(/healthPort/);
  });
});
