import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderConflist, renderSubnetEnv, writeFileAtomic } from './files.js';
import { parseFlags } from './main.js';

describe('files', () => {
  it('subnet.env carries the first usable address and all keys', () => {
    expect(
      renderSubnetEnv({
        network: '10.244.0.0/16',
        subnet: '10.244.3.0/24',
        mtu: 1450,
        ipMasq: true,
      }),
    ).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    expect(
      renderSubnetEnv({
        network: '10.244.0.0/16',
        subnet: '10.244.3.0/24',
        ipv6Network: 'fd00::/56',
        ipv6Subnet: 'fd00:0:0:3::/64',
        mtu: 1500,
        ipMasq: false,
      }),
    ).toContain('FLANNEL_IPV6_SUBNET=fd00:0:0:3::1/64\n');
  });

  it('conflist: flannel (hairpin, default gateway) + portmap; lab paths only when set', () => {
    const c = JSON.parse(renderConflist());
    expect(c).toEqual({
      name: 'cbr0',
      cniVersion: '0.3.1',
      plugins: [
        { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    const lab = JSON.parse(
      renderConflist({ subnetFile: '/tmp/n1/subnet.env', dataDir: '/tmp/n1/cni' }),
    );
    expect(lab.plugins[0]).toMatchObject({
      subnetFile: '/tmp/n1/subnet.env',
      dataDir: '/tmp/n1/cni/flannel',
      ipam: { dataDir: '/tmp/n1/cni/networks' },
    });
  });

  it('writes atomically and reports whether content changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flop-files-'));
    try {
      const p = join(dir, 'sub', 'subnet.env');
      expect(await writeFileAtomic(p, 'A=1\n')).toBe(true);
      expect(await writeFileAtomic(p, 'A=1\n')).toBe(false);
      expect(await readFile(p, 'utf8')).toBe('A=1\n');
      expect(await readdir(join(dir, 'sub'))).toEqual(['subnet.env']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('agent flags', () => {
  it('requires node and network, validates netfilter', () => {
    expect(() => parseFlags([], {})).toThrow(/node-name/);
    expect(() => parseFlags(['--node-name', 'a'], {})).toThrow(/network/);
    expect(() =>
      parseFlags(['--node-name', 'a', '--network', 'n', '--netfilter', 'pf'], {}),
    ).toThrow(/nftables or iptables/);
    const f = parseFlags(['--network', 'n', '--resync-period', '2s'], { NODE_NAME: 'x' });
    expect(f).toMatchObject({
      nodeName: 'x',
      network: 'n',
      resyncMs: 2000,
      subnetFile: '/run/flannel/subnet.env',
    });
  });
});
