import { mkdir, rename, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { firstUsable } from '../ipam/index.js';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';
export const CNI_CONFLIST_NAME = '10-flannel.conflist';

export interface SubnetEnv {
  network?: string;
  subnet?: string;
  ipv6Network?: string;
  ipv6Subnet?: string;
  mtu: number;
  ipMasq: boolean;
}

/** subnet.env text; the flannel CNI plugin reads FLANNEL_SUBNET as the first usable address/len. */
export function renderSubnetEnv(e: SubnetEnv): string {
  const lines: string[] = [];
  if (e.network) lines.push(`FLANNEL_NETWORK=${e.network}`);
  if (e.subnet) lines.push(`FLANNEL_SUBNET=${firstUsable(e.subnet)}`);
  if (e.ipv6Network) lines.push(`FLANNEL_IPV6_NETWORK=${e.ipv6Network}`);
  if (e.ipv6Subnet) lines.push(`FLANNEL_IPV6_SUBNET=${firstUsable(e.ipv6Subnet)}`);
  lines.push(`FLANNEL_MTU=${e.mtu}`);
  lines.push(`FLANNEL_IPMASQ=${e.ipMasq}`);
  return lines.join('\n') + '\n';
}

export interface CniOptions {
  /** Non-default subnet.env path, passed to the plugin as `subnetFile`. */
  subnetFile?: string;
  /** Per-node state directory (lab): plugin `dataDir` = <dir>/flannel, host-local = <dir>/networks. */
  dataDir?: string;
}

export function renderConflist(opts: CniOptions = {}): string {
  const flannel: Record<string, unknown> = {
    type: 'flannel',
    delegate: { hairpinMode: true, isDefaultGateway: true },
  };
  if (opts.subnetFile && opts.subnetFile !== DEFAULT_SUBNET_FILE)
    flannel.subnetFile = opts.subnetFile;
  if (opts.dataDir) {
    flannel.dataDir = join(opts.dataDir, 'flannel');
    flannel.ipam = { dataDir: join(opts.dataDir, 'networks') };
  }
  const conf = {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [flannel, { type: 'portmap', capabilities: { portMappings: true } }],
  };
  return JSON.stringify(conf, null, 2) + '\n';
}

/** Writes via temp file + rename so readers never see a half-written file; skips unchanged content. */
export async function writeFileAtomic(
  path: string,
  content: string,
  mode = 0o644,
): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === content) return false;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
  return true;
}
