import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWireguardKey } from '../../api/index.js';
import { WireguardKeyError, generatePrivateKey, loadOrCreateKey, publicKeyOf } from './keys.js';

const hex = (h: string) => Buffer.from(h, 'hex').toString('base64');

describe('wireguard keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flop-wgkeys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('derives the X25519 public key (RFC 7748 section 6.1 vector)', () => {
    const priv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    expect(publicKeyOf(priv)).toBe(
      hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
    );
    expect(isWireguardKey(generatePrivateKey())).toBe(true);
  });

  it('creates the key once (file 0600, directory 0700) and reuses it', async () => {
    const file = join(dir, 'wg', 'private.key');
    const a = await loadOrCreateKey(file);
    expect(a.origin).toBe('generated');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'wg')).mode & 0o777).toBe(0o700);
    const b = await loadOrCreateKey(file);
    expect(b).toEqual({ ...a, origin: 'existing' });
    expect(publicKeyOf(readFileSync(file, 'utf8').trim())).toBe(a.publicKey);
  });

  it("adopts upstream's key when there is no key file, and tightens loose permissions", async () => {
    const upstream = join(dir, 'wgkey');
    const key = generatePrivateKey();
    writeFileSync(upstream, `${key}\n`);
    const file = join(dir, 'k', 'private.key');
    const k = await loadOrCreateKey(file, upstream);
    expect(k).toEqual({ file, publicKey: publicKeyOf(key), origin: 'imported' });
    chmodSync(file, 0o644);
    await loadOrCreateKey(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file that holds no key, without echoing it', async () => {
    const file = join(dir, 'private.key');
    writeFileSync(file, 'secret-garbage');
    const err = await loadOrCreateKey(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WireguardKeyError);
    expect((err as WireguardKeyError).code).toBe('EAGENT_WIREGUARD_KEY');
    expect((err as Error).message).not.toContain('secret-garbage');
  });
});
