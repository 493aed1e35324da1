import { DeferredMetrics } from './metrics.js';

/** The agent's metrics load prom-client on first need; updates made before wait and are kept. */
describe('DeferredMetrics', () => {
  const value = async (d: DeferredMetrics, name: string): Promise<string> =>
    (await d.registry()).getSingleMetricAsString(name);

  it('applies the updates made before prom-client was loaded, in order, then directly', async () => {
    const d = new DeferredMetrics();
    d.metrics.resyncs.inc({ trigger: 'start' });
    d.metrics.resyncs.inc({ trigger: 'start' });
    d.metrics.pending.set(3);
    d.metrics.pending.set(2);
    d.metrics.kernelOps.inc({ op: 'add' }, 3000);
    d.metrics.programSeconds.observe(0.2);
    expect(await value(d, 'flannel_agent_reconciles_total')).toContain(
      'flannel_agent_reconciles_total{trigger="start"} 2',
    );
    expect(await value(d, 'flannel_agent_pending_peers')).toMatch(/ 2$/);
    expect(await value(d, 'flannel_agent_kernel_changes_total')).toContain('{op="add"} 3000');
    expect(await value(d, 'flannel_agent_programming_duration_seconds')).toContain('_count 1');
    d.metrics.pending.set(7);
    expect(await value(d, 'flannel_agent_pending_peers')).toMatch(/ 7$/);
  });

  it('loads once, and only with default metrics when asked', async () => {
    const d = new DeferredMetrics();
    d.load();
    expect(await d.registry()).toBe(await d.registry());
    expect((await d.registry()).getSingleMetric('process_cpu_seconds_total')).toBeUndefined();
  });

  it('a long queue loads prom-client by itself', async () => {
    const d = new DeferredMetrics();
    for (let i = 0; i < 999; i++) d.metrics.resyncs.inc({ trigger: 'lease' });
    expect(d.loadStarted).toBe(false);
    d.metrics.resyncs.inc({ trigger: 'lease' });
    expect(d.loadStarted).toBe(true);
    expect(await value(d, 'flannel_agent_reconciles_total')).toContain('{trigger="lease"} 1000');
  });
});
