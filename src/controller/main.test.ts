import { UsageError } from '../cmd/flags.js';
import { parseFlags } from './main.js';

describe('controller flags', () => {
  it('has client-go / controller-runtime style defaults', () => {
    const f = parseFlags(['--namespace', 'ops']);
    expect(f).toMatchObject({
      namespace: 'ops',
      leaderElect: true,
      leaderElectionId: 'flannel-operator-controller',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':8081',
      workers: 2,
      dataplane: false,
      eventsNamespace: 'default',
    });
  });

  it('enables the dataplane with an agent image and parses booleans and durations', () => {
    const f = parseFlags([
      '--agent-image=img:1',
      '--leader-elect=false',
      '--leader-elect-retry-period=500ms',
      '--workers',
      '4',
    ]);
    expect(f).toMatchObject({
      agentImage: 'img:1',
      dataplane: true,
      leaderElect: false,
      retryPeriodMs: 500,
      workers: 4,
    });
    expect(parseFlags(['--agent-image=img:1', '--dataplane=false'])).toMatchObject({
      dataplane: false,
    });
    expect(parseFlags(['--help'])).toBe('help');
  });

  it('rejects bad values with clear errors', () => {
    expect(() => parseFlags(['--workers', '0'])).toThrow(UsageError);
    expect(() => parseFlags(['--leader-elect=maybe'])).toThrow(/expected true or false/);
    expect(() => parseFlags(['--dataplane=true'])).toThrow(/needs --agent-image/);
    expect(() => parseFlags(['--log-level=loud'])).toThrow(/unknown level/);
    expect(() => parseFlags(['--metrics-bind-address=:x'])).toThrow(/invalid bind address/);
    expect(() => parseFlags(['--bogus'])).toThrow(UsageError);
  });

  it('writes Events to default or kube-system, nowhere else', () => {
    expect(parseFlags(['--events-namespace=kube-system'])).toMatchObject({
      eventsNamespace: 'kube-system',
    });
    expect(() => parseFlags(['--events-namespace=flannel-system'])).toThrow(
      /--events-namespace: expected default or kube-system, got "flannel-system" \(the API server accepts Events about cluster-scoped objects only there\)/,
    );
  });
});
