import { createHash } from 'node:crypto';
import { tryCanonicalCidr } from '../../ipam/index.js';
import type { WgDeviceSpec, WgPeerSpec } from './desired.js';

/**
 * What a WireGuard device holds (from `wg show <dev> dump`) and what to change so it matches a
 * WgDeviceSpec. Pure. The dump's first field is the device's private key: the parser drops it
 * on the spot, and keeps pre-shared keys only as a digest, so no key text outlives the parse.
 */

export interface WgActualPeer {
  publicKey: string;
  /** sha256 of the pre-shared key, undefined without one. */
  pskDigest?: string;
  endpoint?: string;
  allowedIPs: string[];
  keepalive: number;
  /** Unix seconds of the last handshake, 0 for never. */
  latestHandshake: number;
}

export interface WgActual {
  publicKey: string;
  listenPort: number;
  peers: WgActualPeer[];
}

export const pskDigest = (psk: string): string => createHash('sha256').update(psk).digest('hex');

const none = (s: string | undefined): string | undefined =>
  s === undefined || s === '(none)' || s === 'off' ? undefined : s;

/** Parses `wg show <dev> dump`; undefined for text that is not a dump. */
export function parseWgDump(text: string): WgActual | undefined {
  const [head, ...rest] = text.split('\n').filter((l) => l.length > 0);
  const dev = head?.split('\t');
  if (!dev || dev.length < 4) return undefined;
  const peers = rest.map((line): WgActualPeer => {
    const f = line.split('\t');
    const psk = none(f[1]);
    return {
      publicKey: f[0] ?? '',
      ...(psk ? { pskDigest: pskDigest(psk) } : {}),
      ...(none(f[2]) ? { endpoint: f[2] } : {}),
      allowedIPs: (none(f[3])?.split(',') ?? []).map((c) => tryCanonicalCidr(c) ?? c).sort(),
      latestHandshake: Number(f[4]) || 0,
      keepalive: Number(none(f[7]) ?? 0) || 0,
    };
  });
  return { publicKey: dev[1] ?? '', listenPort: Number(dev[2]) || 0, peers };
}

export interface WgChange {
  /** Set the private key (the device has another one, or none). */
  privateKey: boolean;
  listenPort?: number;
  /** Peers to add or to change (endpoint, allowed IPs, keepalive, pre-shared key). */
  upsert: WgPeerSpec[];
  /** Public keys of peers to remove. */
  remove: string[];
}

export function isEmptyWgChange(c: WgChange): boolean {
  return !c.privateKey && c.listenPort === undefined && !c.upsert.length && !c.remove.length;
}

const sameList = (a: string[], b: string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function peerDiffers(want: WgPeerSpec, have: WgActualPeer, psk?: string): boolean {
  return (
    have.endpoint !== want.endpoint ||
    !sameList(have.allowedIPs, want.allowedIPs) ||
    have.keepalive !== want.keepalive ||
    have.pskDigest !== psk
  );
}

/**
 * The changes that bring `have` to `want` for a node whose key pair has `publicKey`, with the
 * network's pre-shared key digest (`psk`, undefined without one).
 */
export function diffWireguard(
  want: WgDeviceSpec,
  have: WgActual | undefined,
  own: { publicKey: string; psk?: string },
): WgChange {
  const havePeers = new Map((have?.peers ?? []).map((p) => [p.publicKey, p]));
  const wantKeys = new Set(want.peers.map((p) => p.publicKey));
  return {
    privateKey: have?.publicKey !== own.publicKey,
    ...(have?.listenPort !== want.listenPort ? { listenPort: want.listenPort } : {}),
    upsert: want.peers.filter((p) => {
      const h = havePeers.get(p.publicKey);
      return !h || peerDiffers(p, h, own.psk);
    }),
    remove: [...havePeers.keys()].filter((k) => !wantKeys.has(k)),
  };
}

/** `wg set` arguments for a change; key material only as file paths. */
export function wgSetArgs(
  dev: string,
  c: WgChange,
  files: { privateKey: string; psk?: string },
): string[] {
  const args = ['set', dev];
  if (c.listenPort !== undefined) args.push('listen-port', String(c.listenPort));
  if (c.privateKey) args.push('private-key', files.privateKey);
  for (const k of c.remove) args.push('peer', k, 'remove');
  for (const p of c.upsert) {
    args.push('peer', p.publicKey, 'preshared-key', files.psk ?? '/dev/null');
    args.push('endpoint', p.endpoint, 'persistent-keepalive', String(p.keepalive || 'off'));
    // `allowed-ips` replaces the peer's list: a moved subnet leaves no stale entry.
    args.push('allowed-ips', p.allowedIPs.join(','));
  }
  return args;
}
