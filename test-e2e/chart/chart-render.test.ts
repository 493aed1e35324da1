/**
 * The Helm chart, rendered and linted by the real helm binary (hack/tools): objects per backend and
 * netpol setting, least-privilege RBAC, the controller Deployment, the values schema, the CRD copy.
 * The rendered FlannelNetwork and agent pod config are fed to the real DaemonSet builder, so the
 * chart -> controller -> DaemonSet chain is checked end to end without a cluster.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ClusterRole, V1Deployment, V1Role } from '@kubernetes/client-node';
import { skipUnlessIntegrationPrereqs } from '../harness/jest.js';
import { desiredDaemonSet, parseDataplaneConfig } from '../../src/controller/dataplane/index.js';
import { parseFlannelNetwork, type FlannelNetwork } from '../../src/api/index.js';
import { parseFlags as parseAgentFlags } from '../../src/agent/main.js';
import { AGENT_COMMAND } from '../../src/agent/launch.js';
import { parseFlags as parseControllerFlags } from '../../src/controller/main.js';
import { CHART, REPO, helm, kinds, pick, render, template, type K8sObject } from './helpers.js';

skipUnlessIntegrationPrereqs({ root: false, tools: ['helm'] });

import { jest } from '@jest/globals';
jest.setTimeout(120_000);

const network = (objs: K8sObject[]): FlannelNetwork => pick<FlannelNetwork>(objs, 'FlannelNetwork');
const deployment = (objs: K8sObject[]): V1Deployment => pick<V1Deployment>(objs, 'Deployment');
const controllerArgs = (objs: K8sObject[]): string[] =>
  deployment(objs).spec!.template.spec!.containers[0]!.args!;
const env = (objs: K8sObject[], name: string): string | undefined =>
  deployment(objs).spec!.template.spec!.containers[0]!.env!.find((e) => e.name === name)?.value;
const arg = (objs: K8sObject[], flag: string): string | undefined =>
  controllerArgs(objs)
    .find((a) => a.startsWith(`${flag}=`))
    ?.slice(flag.length + 1);

/** The DaemonSet the controller would apply for the rendered network and pod config. */
function daemonSetFor(objs: K8sObject[]) {
  const net = { ...network(objs), metadata: { ...network(objs).metadata, uid: 'u-1' } };
  const flags = parseControllerFlags(controllerArgs(objs).slice(1));
  if (flags === 'help') throw new Error('controller args ask for help');
  return desiredDaemonSet(net, {
    ...parseDataplaneConfig(env(objs, 'FLANNEL_OPERATOR_DATAPLANE')!),
    namespace: 'flannel-system',
    eventsNamespace: flags.eventsNamespace,
    agentImage: flags.agentImage!,
    cniPluginImage: flags.cniPluginImage,
    netpolImage: flags.netpolImage,
    netpolArgs: flags.netpolArgs,
    serviceAccountName: env(objs, 'FLANNEL_OPERATOR_AGENT_SERVICE_ACCOUNT'),
  });
}

describe('helm chart charts/flannel-operator', () => {
  it('passes helm lint (defaults, netpol, host-gw, wireguard, dual-stack)', async () => {
    for (const set of [
      [],
      ['--set', 'netpol.enabled=true'],
      ['--set', 'flannel.backend=host-gw'],
      ['--set', 'flannel.backend=wireguard'],
      ['--set', 'podCidrv6=fd00:10:244::/56'],
    ]) {
      const r = await helm(['lint', '--strict', CHART, ...set]);
      expect({ set, code: r.code, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('renders the default install: controller, RBAC, admission policy, default network', async () => {
    const objs = await render();
    expect(kinds(objs)).toEqual([
      'ClusterRole/fo-flannel-operator-agent',
      'ClusterRole/fo-flannel-operator-controller',
      'ClusterRoleBinding/fo-flannel-operator-agent',
      'ClusterRoleBinding/fo-flannel-operator-controller',
      'Deployment/fo-flannel-operator-controller',
      'FlannelNetwork/default',
      'PodDisruptionBudget/fo-flannel-operator-controller',
      'Role/fo-flannel-operator-agent-events',
      'Role/fo-flannel-operator-controller',
      'Role/fo-flannel-operator-controller-events',
      'RoleBinding/fo-flannel-operator-agent-events',
      'RoleBinding/fo-flannel-operator-controller',
      'RoleBinding/fo-flannel-operator-controller-events',
      'ServiceAccount/fo-flannel-operator-agent',
      'ServiceAccount/fo-flannel-operator-controller',
      'ValidatingAdmissionPolicy/fo-flannel-operator-agent-own-lease',
      'ValidatingAdmissionPolicyBinding/fo-flannel-operator-agent-own-lease',
    ]);
    // CRDs come from crds/ and only with --include-crds.
    expect(objs.some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);

    const d = deployment(objs);
    expect(d.metadata!.namespace).toBe('flannel-system');
    expect(d.spec!.replicas).toBe(2);
    const pod = d.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe('fo-flannel-operator-controller');
    expect(pod.hostNetwork).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    const c = pod.containers[0]!;
    expect(c.image).toBe('ghcr.io/flannel-operator/flannel-operator:0.1.0');
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(c.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(c.args![0]).toBe('controller');
    expect(controllerArgs(objs)).toEqual(
      expect.arrayContaining([
        '--namespace=flannel-system',
        '--leader-elect=true',
        '--leader-election-id=fo-flannel-operator-controller',
        '--agent-image=ghcr.io/flannel-operator/flannel-operator:0.1.0',
        '--cni-plugin-image=ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel2',
        '--netpol-image=registry.k8s.io/networking/kube-network-policies:v0.8.0',
      ]),
    );
    // Tolerates the not-ready taint: the controller must run before there is pod networking.
    expect(pod.tolerations).toContainEqual({
      key: 'node.kubernetes.io/not-ready',
      operator: 'Exists',
      effect: 'NoSchedule',
    });

    expect(network(objs).spec).toEqual({
      network: '10.244.0.0/16',
      backend: { type: 'vxlan', vni: 1, directRouting: false, gbp: false },
      ipMasq: true,
      netpol: { enabled: false },
    });

    const ds = daemonSetFor(objs);
    const dsPod = ds.spec!.template.spec!;
    expect(ds.metadata!.name).toBe('flannel-agent-default');
    expect(dsPod.serviceAccountName).toBe('fo-flannel-operator-agent');
    expect(dsPod.tolerations).toEqual([
      { operator: 'Exists', effect: 'NoSchedule' },
      { operator: 'Exists', effect: 'NoExecute' },
    ]);
    expect(dsPod.containers.map((x) => x.name)).toEqual(['agent']);
    expect(dsPod.initContainers![0]!.image).toBe(
      'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel2',
    );
  });

  it.each([
    [
      'vxlan',
      { flannel: { backend: 'vxlan', vni: 4096, backendPort: 4789, mtu: 1400 } },
      { type: 'vxlan', vni: 4096, port: 4789, mtu: 1400, directRouting: false, gbp: false },
    ],
    ['host-gw', { flannel: { backend: 'host-gw' } }, { type: 'host-gw' }],
    [
      'vxlan+directRouting',
      { flannel: { backend: 'vxlan', directRouting: true, GBP: true } },
      { type: 'vxlan', vni: 1, directRouting: true, gbp: true },
    ],
    ['wireguard', { flannel: { backend: 'wireguard' } }, { type: 'wireguard' }],
    [
      'wireguard with options',
      {
        flannel: {
          backend: 'wireguard',
          backendPort: 51830,
          mtu: 1380,
          wireguard: {
            listenPortV6: 51831,
            persistentKeepaliveInterval: 25,
            mode: 'separate',
            pskSecretRef: { name: 'wg-psk', key: 'key' },
          },
        },
      },
      {
        type: 'wireguard',
        listenPort: 51830,
        mtu: 1380,
        listenPortV6: 51831,
        persistentKeepaliveInterval: 25,
        mode: 'separate',
        pskSecretRef: { name: 'wg-psk', key: 'key' },
      },
    ],
  ])('renders backend %s into the FlannelNetwork', async (_name, values, backend) => {
    const objs = await render(values);
    expect(network(objs).spec.backend).toEqual(backend);
    // What admission checks (the CEL rules' JS twins) accepts the rendered network.
    expect(() => parseFlannelNetwork(network(objs))).not.toThrow();
    // Same pods for every backend; the config hash tells them apart.
    const ds = daemonSetFor(objs);
    expect(ds.spec!.template.spec!.containers.map((c) => c.name)).toEqual(['agent']);
  });

  it('netpol on: CR enables the sidecar, agent RBAC gains exactly what kube-network-policies reads', async () => {
    const off = await render();
    const on = await render({ netpol: { enabled: true, args: ['--v=4'] } });
    // The CR only switches the sidecar on; image and args go to the controller as flags.
    expect(network(on).spec.netpol).toEqual({ enabled: true });
    const ctrlArgs = pick<V1Deployment>(on, 'Deployment', 'fo-flannel-operator-controller').spec!
      .template.spec!.containers[0]!.args!;
    expect(ctrlArgs).toContain('--netpol-args=["--v=4"]');
    expect(network(off).spec.netpol).toEqual({ enabled: false });

    const rules = (objs: K8sObject[]) =>
      pick<V1ClusterRole>(objs, 'ClusterRole', 'fo-flannel-operator-agent').rules!;
    const extra = rules(on).filter(
      (r) => !rules(off).some((o) => JSON.stringify(o) === JSON.stringify(r)),
    );
    expect(extra).toEqual([
      {
        apiGroups: ['networking.k8s.io'],
        resources: ['networkpolicies'],
        verbs: ['list', 'watch'],
      },
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch'] },
    ]);

    const ds = daemonSetFor(on);
    const np = ds.spec!.template.spec!.containers.find((c) => c.name === 'kube-network-policies')!;
    expect(np.image).toBe('registry.k8s.io/networking/kube-network-policies:v0.8.0');
    expect(np.args).toEqual(['--v=4']);
    expect(np.securityContext!.privileged).toBe(true);
  });

  it('least privilege: no wildcards, no secrets, writes only where the brief says', async () => {
    const objs = await render({ netpol: { enabled: true } });
    const roles = objs.filter(
      (o) => o.kind === 'ClusterRole' || o.kind === 'Role',
    ) as unknown as Array<V1ClusterRole | V1Role>;
    for (const r of roles) {
      for (const rule of r.rules ?? []) {
        expect(rule.verbs).not.toContain('*');
        expect(rule.resources).not.toContain('*');
        expect(rule.apiGroups).not.toContain('*');
        expect(rule.resources).not.toContain('secrets');
        expect(rule.verbs).not.toContain('deletecollection');
      }
    }
    const ctrl = pick<V1ClusterRole>(objs, 'ClusterRole', 'fo-flannel-operator-controller').rules!;
    expect(ctrl).toEqual([
      {
        apiGroups: ['network.flannel-operator.io'],
        resources: ['flannelnetworks'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['network.flannel-operator.io'],
        resources: ['flannelnetworks/status'],
        verbs: ['patch'],
      },
      {
        apiGroups: ['network.flannel-operator.io'],
        resources: ['subnetleases'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      {
        apiGroups: ['network.flannel-operator.io'],
        resources: ['subnetleases/status'],
        verbs: ['patch'],
      },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch'] },
    ]);
    const nsRole = pick<V1Role>(objs, 'Role', 'fo-flannel-operator-controller');
    expect(nsRole.metadata!.namespace).toBe('flannel-system');
    expect(nsRole.rules!.map((r) => r.resources![0])).toEqual(['daemonsets', 'leases']);
    const agent = pick<V1ClusterRole>(objs, 'ClusterRole', 'fo-flannel-operator-agent').rules!;
    const agentWrites = agent.filter((r) =>
      r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)),
    );
    expect(agentWrites).toEqual([
      {
        apiGroups: ['network.flannel-operator.io'],
        resources: ['subnetleases/status'],
        verbs: ['patch'],
      },
    ]);
    // Its only other write: Warning Events about its (cluster-scoped) SubnetLease, which the API
    // server accepts only in `default` (controller.eventsNamespace), where the controller's go too.
    const agentEvents = pick<V1Role>(objs, 'Role', 'fo-flannel-operator-agent-events');
    expect(agentEvents.metadata!.namespace).toBe('default');
    expect(agentEvents.rules).toEqual([
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
  });

  it('renders dual-stack and IPv6-only networks, and refuses a network without any CIDR', async () => {
    const dual = await render({ podCidrv6: 'fd00:10:244::/56', network: { ipv6SubnetLen: 64 } });
    expect(network(dual).spec).toMatchObject({
      network: '10.244.0.0/16',
      ipv6Network: 'fd00:10:244::/56',
      ipv6SubnetLen: 64,
    });
    const v6 = await render({ podCidr: '', podCidrv6: 'fd00:10:244::/56' });
    expect(network(v6).spec.network).toBeUndefined();
    expect(network(v6).spec.ipv6Network).toBe('fd00:10:244::/56');
    const none = await template({ podCidr: '', podCidrv6: '' });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('podCidr and podCidrv6 are both empty');
    const noNet = await render({ podCidr: '', podCidrv6: '', network: { create: false } });
    expect(noNet.some((o) => o.kind === 'FlannelNetwork')).toBe(false);
  });

  it('passes chart values through to the agent pods (dirs, nftables, selectors, pull secrets)', async () => {
    const objs = await render({
      global: { imagePullSecrets: [{ name: 'regcred' }] },
      image: { repository: 'example.org/fo', tag: 'dev', pullPolicy: 'Never' },
      flannel: {
        cniBinDir: '/usr/libexec/cni',
        cniConfDir: '/etc/kubernetes/cni/net.d',
        enableNFTables: true,
        nodeSelector: { 'example.org/cni': 'flannel' },
        args: ['--iface=eth1'],
      },
      network: { nodeSelector: { matchLabels: { pool: 'blue' } }, subnetLen: 26 },
    });
    expect(network(objs).spec).toMatchObject({
      subnetLen: 26,
      nodeSelector: { matchLabels: { pool: 'blue' } },
    });
    expect(arg(objs, '--agent-image')).toBe('example.org/fo:dev');
    const ds = daemonSetFor(objs);
    const pod = ds.spec!.template.spec!;
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.volumes!.find((v) => v.name === 'cni-plugin')!.hostPath!.path).toBe(
      '/usr/libexec/cni',
    );
    const agent = pod.containers[0]!;
    expect(agent.imagePullPolicy).toBe('Never');
    expect(agent.args).toEqual(expect.arrayContaining(['--netfilter=nftables', '--iface=eth1']));
    const req =
      pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!
        .nodeSelectorTerms[0]!.matchExpressions!;
    expect(req).toEqual(
      expect.arrayContaining([
        { key: 'example.org/cni', operator: 'In', values: ['flannel'] },
        { key: 'pool', operator: 'In', values: ['blue'] },
      ]),
    );
  });

  it('the rendered flags are accepted by the controller and agent binaries', async () => {
    const objs = await render({
      netpol: { enabled: true },
      flannel: { enableNFTables: false, args: ['--iface=eth1'], logLevel: 'debug' },
    });
    const ctl = parseControllerFlags(controllerArgs(objs).slice(1));
    expect(ctl).toMatchObject({
      namespace: 'flannel-system',
      leaderElect: true,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      metricsBindAddress: ':9110',
      healthProbeBindAddress: ':9111',
      dataplane: true,
      eventsNamespace: 'default',
    });
    const agent = daemonSetFor(objs).spec!.template.spec!.containers[0]!;
    expect(agent.command).toEqual(AGENT_COMMAND);
    expect(parseAgentFlags(agent.args!, { NODE_NAME: 'n1' })).toMatchObject({
      nodeName: 'n1',
      network: 'default',
      iface: 'eth1',
      netfilter: 'iptables',
      subnetFile: '/run/flannel/subnet.env',
      cniConfDir: '/etc/cni/net.d',
      healthProbeBindAddress: ':9102',
      logLevel: 'debug',
      eventsNamespace: 'default',
    });
  });

  it('controller.eventsNamespace moves the Events of the controller and the agents, and their RBAC', async () => {
    const objs = await render({ controller: { eventsNamespace: 'kube-system' } });
    expect(parseControllerFlags(controllerArgs(objs).slice(1))).toMatchObject({
      eventsNamespace: 'kube-system',
    });
    const agent = daemonSetFor(objs).spec!.template.spec!.containers[0]!;
    expect(parseAgentFlags(agent.args!, { NODE_NAME: 'n1' })).toMatchObject({
      eventsNamespace: 'kube-system',
    });
    for (const role of [
      'fo-flannel-operator-controller-events',
      'fo-flannel-operator-agent-events',
    ])
      expect(pick<V1Role>(objs, 'Role', role).metadata!.namespace).toBe('kube-system');
  });

  it('wireguard: the agent pods get the key directory and the pre-shared key Secret', async () => {
    const objs = await render({
      flannel: { backend: 'wireguard', wireguard: { pskSecretRef: { name: 'wg-psk' } } },
    });
    const pod = daemonSetFor(objs).spec!.template.spec!;
    expect(pod.volumes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'wireguard-key' }),
        expect.objectContaining({
          name: 'wireguard-psk',
          secret: expect.objectContaining({ secretName: 'wg-psk' }),
        }),
      ]),
    );
    expect(pod.containers[0]!.args).toContain(
      '--wireguard-psk-file=/etc/flannel-operator/wireguard-psk/psk',
    );
  });

  it.each([
    [
      { flannel: { backend: 'ipip' } },
      "at '/flannel/backend': value must be one of 'vxlan', 'host-gw', 'wireguard'",
    ],
    [{ flannel: { wireguard: { mode: 'ipv4' } } }, "at '/flannel/wireguard'"],
    [{ flannel: { backend: 'wireguard', directRouting: true } }, "at '/flannel/directRouting'"],
    [
      { flannel: { backend: 'wireguard', wireguard: { mode: 'both' } } },
      "at '/flannel/wireguard/mode'",
    ],
    [
      { flannel: { backend: 'wireguard', wireguard: { psk: 'x' } } },
      "additional properties 'psk' not allowed",
    ],
    [{ podCidr: '10.244.0.0' }, "at '/podCidr'"],
    [{ podCidrv6: 'not-a-cidr' }, "at '/podCidrv6'"],
    [{ flannel: { vni: 0 } }, "at '/flannel/vni'"],
    [{ flannel: { vni: 16777216 } }, "at '/flannel/vni'"],
    [{ flannel: { backendPort: 70000 } }, "at '/flannel/backendPort'"],
    [{ flannel: { mtu: 100 } }, "at '/flannel/mtu'"],
    [
      { flannel: { backend: 'host-gw', directRouting: true } },
      "at '/flannel/directRouting': value must be false",
    ],
    [{ controller: { replicas: 'two' } }, "at '/controller/replicas': got string, want integer"],
    [{ netpol: { enabled: 'maybe' } }, "at '/netpol/enabled': got string, want boolean"],
    [{ flanel: { backend: 'vxlan' } }, "additional properties 'flanel' not allowed"],
    [{ image: { pullPolicy: 'Sometimes' } }, "at '/image/pullPolicy'"],
    [{ flannel: { cniBinDir: 'opt/cni/bin' } }, "at '/flannel/cniBinDir'"],
    [{ controller: { eventsNamespace: 'flannel-system' } }, "at '/controller/eventsNamespace'"],
    [
      { controller: { leaderElection: { leaseDuration: '15' } } },
      "at '/controller/leaderElection/leaseDuration'",
    ],
  ])('values.schema.json rejects %j', async (values, message) => {
    const r = await template(values);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(message);
  });

  it('ships the generated CRDs (identical to crds/) and installs them only from crds/', async () => {
    const chartCrds = join(CHART, 'crds');
    const files = readdirSync(join(REPO, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(chartCrds).sort()).toEqual(files);
    for (const f of files) {
      const text = readFileSync(join(chartCrds, f), 'utf8');
      expect(text.startsWith('# generated by make crds')).toBe(true);
      expect(text).toBe(readFileSync(join(REPO, 'crds', f), 'utf8'));
    }
    const withCrds = await render({}, ['--include-crds']);
    expect(
      withCrds
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual([
      'flannelnetworks.network.flannel-operator.io',
      'subnetleases.network.flannel-operator.io',
    ]);
  });

  it('README documents every top-level value group and the CRD upgrade step', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    for (const key of [
      'podCidr',
      'podCidrv6',
      'flannel.backend',
      'netpol.enabled',
      'controller.replicas',
      'network.create',
    ])
      expect(readme).toContain(`\`${key}\``);
    expect(readme).toContain('kubectl apply --server-side -f');
  });
});
