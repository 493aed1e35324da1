import { readFile, writeFile } from 'node:fs/promises';

/**
 * Every host-wide sysctl the agent writes, and why (the README lists the same). Device-level
 * ones on the agent's own vxlan device are set when it is created (kernel/netlink.ts).
 */
export interface SysctlSetting {
  /** Dotted name, e.g. net.ipv4.ip_forward. */
  key: string;
  value: string;
  why: string;
}

/**
 * IPv6 forwarding only for networks with ipv6Network: with it on, the kernel ignores router
 * advertisements (accept_ra=1), so a host that learns its IPv6 default route by RA loses it.
 */
export function desiredSysctls(net: { network?: string; ipv6Network?: string }): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  // An IPv6-only network routes no IPv4: the host's IPv4 forwarding is left as it is.
  if (net.network || !net.ipv6Network)
    out.push({
      key: 'net.ipv4.ip_forward',
      value: '1',
      why: 'pod traffic is routed between cni0, the overlay and the underlay',
    });
  if (net.ipv6Network)
    out.push({
      key: 'net.ipv6.conf.all.forwarding',
      value: '1',
      why: 'the network has ipv6Network: IPv6 pod traffic is routed likewise',
    });
  return out;
}

export const sysctlPath = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

export async function readSysctl(key: string): Promise<string | undefined> {
  return (await readFile(sysctlPath(key), 'utf8').catch(() => undefined))?.trim();
}

/**
 * Writes only when the value differs (repairs drift, touches nothing otherwise). In an
 * unprivileged container /proc/sys is read-only: then 'off' says the value is wrong and stays so.
 */
export async function ensureSysctl(s: SysctlSetting): Promise<'ok' | 'changed' | 'off'> {
  if ((await readSysctl(s.key)) === s.value) return 'ok';
  try {
    await writeFile(sysctlPath(s.key), s.value);
    return 'changed';
  } catch {
    return 'off';
  }
}
