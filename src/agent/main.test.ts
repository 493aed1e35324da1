import { UsageError } from '../cmd/flags.js';
import { parseFlags } from './main.js';

describe('agent flags', () => {
  const env = { NODE_NAME: 'n1', FLANNEL_NETWORK_NAME: 'default' };

  it('takes node and network from the environment, with defaults', () => {
    expect(parseFlags([], env)).toMatchObject({
      nodeName: 'n1',
      network: 'default',
      resyncMs: 10_000,
      metricsBindAddress: ':9101',
      healthProbeBindAddress: ':9102',
      logLevel: 'info',
      eventsNamespace: 'default',
    });
    expect(parseFlags(['--events-namespace', 'kube-system'], env)).toMatchObject({
      eventsNamespace: 'kube-system',
    });
    expect(parseFlags(['--help'], {})).toBe('help');
  });

  it('rejects bad values as usage errors', () => {
    expect(() => parseFlags([], {})).toThrow(/--node-name/);
    expect(() => parseFlags([], { NODE_NAME: 'n1' })).toThrow(/--network is required/);
    for (const argv of [
      ['--netfilter=pf'],
      ['--events-namespace=flannel-system'],
      ['--resync-period=soon'],
      ['--log-level=loud'],
      ['--metrics-bind-address=:x'],
      ['--bogus'],
      ['extra'],
    ]) {
      expect(() => parseFlags(argv, env)).toThrow(UsageError);
    }
  });
});
