import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { isWireguardKey } from '../../api/wireguard-key.js';
import type { Kernel } from '../kernel/netlink.js';
import { WG_DEVICE, WG_DEVICE_V6, type WgDeviceSpec } from './desired.js';
import { diffWireguard, isEmptyWgChange, pskDigest, wgSetArgs } from './diff.js';
import { WireguardError, type WireguardDevices } from './device.js';
import type { KeyPair } from './keys.js';

/** Programs the WireGuard devices of one pass: links, link settings, key, port and peers. */

export interface WgSecrets {
  key: KeyPair;
  /** The pre-shared key file and the digest of its content (no key text kept). */
  psk?: { file: string; digest: string };
}

/** Reads and checks the pre-shared key file (a mounted Secret, so re-read every pass). */
export async function readPsk(file: string): Promise<WgSecrets['psk']> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (e) {
    throw new WireguardError(
      `cannot read the pre-shared key file ${file}: ${(e as Error).message}`,
      'EAGENT_WIREGUARD_PSK',
    );
  }
  if (!isWireguardKey(text))
    throw new WireguardError(
      `${file} does not hold a WireGuard pre-shared key (32 bytes base64, as wg genpsk prints)`,
      'EAGENT_WIREGUARD_PSK',
    );
  return { file, digest: pskDigest(text) };
}

type LinkKernel = Pick<Kernel, 'linkState' | 'configureLink' | 'deleteLink'>;

function linkDiffers(want: WgDeviceSpec, have: Awaited<ReturnType<Kernel['linkState']>>): boolean {
  return (
    !have ||
    have.mtu !== want.mtu ||
    !have.up ||
    want.addresses.some((a) => !have.addresses.includes(a))
  );
}

/** One device: exists, MTU/addresses/up, then key, port and peers via `wg set`. */
async function programDevice(
  dev: WireguardDevices,
  kernel: LinkKernel,
  want: WgDeviceSpec,
  secrets: WgSecrets,
  log: Logger,
): Promise<number> {
  let changes = (await dev.ensure(want.name, want.mtu)) ? 1 : 0;
  if (changes) log.info({ dev: want.name, implementation: dev.inUse }, 'wireguard device created');
  if (linkDiffers(want, await kernel.linkState(want.name))) {
    await kernel.configureLink(want.name, want.mtu, want.addresses);
    changes++;
  }
  const have = await dev.show(want.name);
  const change = diffWireguard(want, have, {
    publicKey: secrets.key.publicKey,
    psk: secrets.psk?.digest,
  });
  if (isEmptyWgChange(change)) return changes;
  await dev.set(
    wgSetArgs(want.name, change, { privateKey: secrets.key.file, psk: secrets.psk?.file }),
  );
  log.info(
    {
      dev: want.name,
      privateKey: change.privateKey ? 'set' : 'kept',
      upsert: change.upsert.map((p) => p.nodeName),
      removed: change.remove.length,
    },
    'wireguard peers programmed',
  );
  return changes + (change.privateKey ? 1 : 0) + change.upsert.length + change.remove.length;
}

/** All devices of the network; a device the mode no longer wants is deleted. */
export async function programWireguard(
  dev: WireguardDevices,
  kernel: LinkKernel,
  devices: WgDeviceSpec[],
  secrets: WgSecrets,
  log: Logger,
): Promise<number> {
  let changes = 0;
  for (const want of devices) changes += await programDevice(dev, kernel, want, secrets, log);
  for (const name of [WG_DEVICE, WG_DEVICE_V6]) {
    if (devices.some((d) => d.name === name) || !(await kernel.linkState(name))) continue;
    await kernel.deleteLink(name);
    log.info({ dev: name }, 'wireguard device removed (not used by this mode)');
    changes++;
  }
  return changes;
}
