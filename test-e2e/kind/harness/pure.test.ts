/** The harness's pure parts: kind config, chart values, netexec answers. No cluster needed. */
import { chartValues, kindConfig } from './cluster.js';
import { clientAddress, hostPort } from './workloads.js';

describe('kind harness (pure)', () => {
  it('kind config: no default CNI, chart pod networks, preflight skipped, 1 + N nodes', () => {
    const v4 = kindConfig({ name: 'x', backend: 'vxlan', workers: 2 });
    expect(v4).toContain('disableDefaultCNI: true');
    expect(v4).toContain('podSubnet: "10.244.0.0/16"');
    expect(v4).not.toContain('ipFamily');
    expect(v4.match(/role: worker/g)).toHaveLength(2);
    expect(v4.match(/skipPhases: \[preflight\]/g)).toHaveLength(2);
    const dual = kindConfig({ name: 'x', backend: 'vxlan', dualStack: true, workers: 1 });
    expect(dual).toContain('ipFamily: dual');
    expect(dual).toContain('podSubnet: "10.244.0.0/16,fd00:10:244::/56"');
    expect(dual.match(/role: worker/g)).toHaveLength(1);
  });

  it('chart values per backend', () => {
    const set = (backend: 'vxlan' | 'host-gw' | 'directrouting', dualStack = false): string[] =>
      chartValues({ name: 'x', backend, dualStack }).filter((_, i) => i % 2 === 1);
    expect(set('host-gw')).toEqual(
      expect.arrayContaining(['flannel.backend=host-gw', 'flannel.directRouting=false']),
    );
    expect(set('directrouting')).toEqual(
      expect.arrayContaining(['flannel.backend=vxlan', 'flannel.directRouting=true']),
    );
    expect(set('vxlan')).toEqual(
      expect.arrayContaining(['image.pullPolicy=Never', 'netpol.enabled=false']),
    );
    expect(set('vxlan')).not.toContain('podCidrv6=fd00:10:244::/56');
    expect(set('vxlan', true)).toContain('podCidrv6=fd00:10:244::/56');
  });

  it('netexec /clientip answers and URLs for both families', () => {
    expect(clientAddress('10.244.1.5:43210\n')).toBe('10.244.1.5');
    expect(clientAddress('[fd00:10:244:1::5]:43210')).toBe('fd00:10:244:1::5');
    expect(hostPort('fd00::1')).toBe('[fd00::1]:8080');
    expect(hostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });
});
