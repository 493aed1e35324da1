import fc from 'fast-check';
import {
  isDnsSubdomain,
  isLabelValue,
  labelValue,
  leaseLabels,
  leaseName,
  networkLeaseSelector,
} from './names.js';

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const subdomain = fc
  .array(dnsLabel, { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join('.'))
  .filter((s) => s.length <= 253);

describe('leaseName', () => {
  it('joins network and node with a dot', () => {
    expect(leaseName('default', 'node-1')).toBe('default.node-1');
    expect(leaseName('pods', 'ip-10-0-0-1.ec2.internal')).toBe('pods.ip-10-0-0-1.ec2.internal');
  });

  it('keeps exactly 253 characters unchanged', () => {
    const node = 'a'.repeat(253 - 'net.'.length);
    expect(leaseName('net', node)).toBe(`net.${node}`);
  });

  it('shortens past 253 characters with a hash suffix', () => {
    const node = ['b', 'c', 'd', 'e', 'f'].map((c) => c.repeat(60)).join('.');
    const name = leaseName('network', node);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(isDnsSubdomain(name)).toBe(true);
    expect(name).toMatch(/-[0-9a-f]{10}$/);
    expect(name.startsWith('network.bbbb')).toBe(true);
  });

  it('gives different names to long inputs sharing a prefix', () => {
    const base = 'x'.repeat(250);
    expect(leaseName('n', `${base}1`)).not.toBe(leaseName('n', `${base}2`));
  });

  it('is always a valid DNS subdomain, deterministic and injective on valid inputs', () => {
    fc.assert(
      fc.property(subdomain, subdomain, (network, node) => {
        const name = leaseName(network, node);
        expect(isDnsSubdomain(name)).toBe(true);
        expect(leaseName(network, node)).toBe(name);
        if (network.length + node.length + 1 <= 253) expect(name).toBe(`${network}.${node}`);
      }),
    );
  });

  it('makes even invalid input valid', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (a, b) => {
        expect(isDnsSubdomain(leaseName(a, b))).toBe(true);
      }),
    );
  });
});

describe('labelValue', () => {
  it('keeps valid values', () => {
    expect(labelValue('default')).toBe('default');
    expect(labelValue('a'.repeat(63))).toBe('a'.repeat(63));
    expect(labelValue('')).toBe('');
  });

  it('hashes long values to 63 characters', () => {
    const v = labelValue(`${'n'.repeat(40)}.${'m'.repeat(40)}`);
    expect(v.length).toBe(63);
    expect(isLabelValue(v)).toBe(true);
    expect(v).toMatch(/-[0-9a-f]{10}$/);
  });

  it('is always a valid label value', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(isLabelValue(labelValue(s))).toBe(true);
      }),
    );
  });

  it('builds lease labels and selectors', () => {
    expect(leaseLabels('net', 'node-1')).toEqual({
      'network.flannel-operator.io/network': 'net',
      'network.flannel-operator.io/node': 'node-1',
    });
    expect(networkLeaseSelector('net')).toBe('network.flannel-operator.io/network=net');
  });
});
