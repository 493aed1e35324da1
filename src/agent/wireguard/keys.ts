import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isWireguardKey } from '../../api/wireguard-key.js';
import { FlannelOperatorError, type ErrorCode } from '../../errors.js';

/**
 * The node's WireGuard key pair. The private key lives only in one file on the host (directory
 * 0700, file 0600) and in the kernel / wireguard-go; the agent hands `wg` the file's path, never
 * the key, and publishes only the public key.
 */

export const DEFAULT_WIREGUARD_KEY_FILE = '/var/lib/flannel-operator/wireguard/private.key';
/** Where upstream flannel keeps its key (WIREGUARD_KEY_FILE): adopted once so peers keep it. */
export const UPSTREAM_WIREGUARD_KEY_FILE = '/run/flannel/wgkey';

export class WireguardKeyError extends FlannelOperatorError {
  constructor(
    message: string,
    readonly code: ErrorCode = 'EAGENT_WIREGUARD_KEY',
  ) {
    super(message);
  }
}

export interface KeyPair {
  /** Path of the private key file (what `wg set ... private-key` reads). */
  file: string;
  publicKey: string;
  /** How the file came to be: found, adopted from upstream, or generated now. */
  origin: 'existing' | 'imported' | 'generated';
}

/** The public key of a base64 private key (X25519, as `wg pubkey`). */
export function publicKeyOf(privateKey: string): string {
  const d = Buffer.from(privateKey, 'base64').toString('base64url');
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' });
  const x = createPublicKey(priv).export({ format: 'jwk' }).x!;
  return Buffer.from(x, 'base64url').toString('base64');
}

export function generatePrivateKey(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  return Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url').toString('base64');
}

async function readKey(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WireguardKeyError(`cannot read ${file}: ${(e as Error).message}`);
  }
  // Never echo the file: it is a private key, or garbage where one should be.
  if (!isWireguardKey(text))
    throw new WireguardKeyError(`${file} does not hold a WireGuard private key (32 bytes base64)`);
  return text;
}

/** Writes the key with mode 0600 (created so, never widened), atomically. */
async function writeKey(file: string, key: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await chmod(dirname(file), 0o700);
  const tmp = join(dirname(file), `.private.key.${process.pid}`);
  await unlink(tmp).catch(() => undefined);
  await writeFile(tmp, `${key}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, file);
}

/**
 * The node's key pair: the existing key file, else upstream's key (a migrated node keeps the
 * public key its peers know), else a new key. Tightens loose permissions it finds.
 */
export async function loadOrCreateKey(file: string, importFrom?: string): Promise<KeyPair> {
  let key = await readKey(file);
  let origin: KeyPair['origin'] = 'existing';
  if (key === undefined) {
    const imported = importFrom ? await readKey(importFrom).catch(() => undefined) : undefined;
    key = imported ?? generatePrivateKey();
    origin = imported ? 'imported' : 'generated';
    await writeKey(file, key);
  } else if (((await stat(file)).mode & 0o077) !== 0) {
    await chmod(file, 0o600);
  }
  return { file, publicKey: publicKeyOf(key), origin };
}
