import { iptablesHash, renderIptables, renderNft } from './render.js';
import { parseNftListing } from './apply.js';

const input = {
  family: 'ipv4' as const,
  network: '10.244.0.0/16',
  podSubnet: '10.244.1.0/24',
  ipMasq: true,
};

describe('netfilter rendering', () => {
  it('nftables: one atomic transaction recreating the own table (golden)', () => {
    const r = renderNft(input);
    expect(r.script.replace(r.hash, 'HASH')).toBe(`add table ip flannel-operator-ipv4
delete table ip flannel-operator-ipv4
table ip flannel-operator-ipv4 {
\tcomment "flannel-operator HASH"
\tchain postrtg {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tmeta mark & 0x4000 == 0x4000 return
\t\tip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return
\t\tip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return
\t\tip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return
\t\tip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
\t\tip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr 10.244.0.0/16 accept
\t\tip daddr 10.244.0.0/16 accept
\t}
}
`);
    expect(r.ruleCounts).toEqual({ postrtg: 6, forward: 2 });
  });

  it('ipMasq=false: no nat chain; hash changes with the rules', () => {
    const r = renderNft({ ...input, ipMasq: false });
    expect(r.script).not.toContain('postrtg');
    expect(r.hash).not.toBe(renderNft(input).hash);
  });

  it('ipv6 uses ip6 family and ff00::/8', () => {
    const r = renderNft({
      family: 'ipv6',
      network: 'fd00:10:244::/56',
      podSubnet: 'fd00:10:244:1::/64',
      ipMasq: true,
    });
    expect(r.script).toContain('table ip6 flannel-operator-ipv6');
    expect(r.script).toContain('ip6 daddr != ff00::/8 masquerade fully-random');
  });

  it('iptables-restore input (golden)', () => {
    const h = iptablesHash(input);
    expect(renderIptables(input).replaceAll(h, 'HASH')).toBe(`*nat
:FLANNEL-OP-POSTRTG - [0:0]
-A FLANNEL-OP-POSTRTG -m mark --mark 0x4000/0x4000 -j RETURN -m comment --comment "flannel-operator HASH"
-A FLANNEL-OP-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -j RETURN -m comment --comment "flannel-operator HASH"
-A FLANNEL-OP-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -j RETURN -m comment --comment "flannel-operator HASH"
-A FLANNEL-OP-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -j RETURN -m comment --comment "flannel-operator HASH"
-A FLANNEL-OP-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully -m comment --comment "flannel-operator HASH"
-A FLANNEL-OP-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -j MASQUERADE --random-fully -m comment --comment "flannel-operator HASH"
COMMIT
*filter
:FLANNEL-OP-FWD - [0:0]
-A FLANNEL-OP-FWD -s 10.244.0.0/16 -j ACCEPT -m comment --comment "flannel-operator HASH"
-A FLANNEL-OP-FWD -d 10.244.0.0/16 -j ACCEPT -m comment --comment "flannel-operator HASH"
COMMIT
`);
  });

  it('iptables hash differs per network / subnet', () => {
    expect(iptablesHash(input)).not.toBe(iptablesHash({ ...input, podSubnet: '10.244.2.0/24' }));
  });

  it('parses the nft listing used by the drift check', () => {
    const text = `table ip flannel-operator-ipv4 {
	comment "flannel-operator abc"
	chain postrtg {
		type nat hook postrouting priority srcnat; policy accept;
		meta mark & 0x00004000 == 0x00004000 return
		ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr 10.244.0.0/16 accept
	}
}
`;
    const got = parseNftListing(text);
    expect(got.comment).toBe('flannel-operator abc');
    expect([...got.chains]).toEqual([
      ['postrtg', 2],
      ['forward', 1],
    ]);
  });
});
