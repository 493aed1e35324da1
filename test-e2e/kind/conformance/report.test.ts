/** The junit and summary readers, on the shapes Ginkgo v2.21 writes (reporters/junit_report.go). */
import { countJunit, ranSpecs } from './report.js';

const testcase = (name: string, status: string, body = ''): string =>
  `<testcase name="${name}" classname="Kubernetes e2e suite" status="${status}" time="1.5">${body}</testcase>`;

const junit = (...cases: string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${cases.length}">\n` +
  `<testsuite name="Kubernetes e2e suite" package="/">\n${cases.join('\n')}\n</testsuite>\n</testsuites>\n`;

describe('countJunit', () => {
  it('counts passed specs, ignores the ones outside the focus and passing suite nodes', () => {
    const xml = junit(
      testcase('[SynchronizedBeforeSuite]', 'passed'),
      testcase('[It] [sig-network] DNS should provide DNS for services  [Conformance]', 'passed'),
      testcase(
        '[It] [sig-network] Services should serve a basic endpoint  [Conformance]',
        'passed',
      ),
      testcase(
        '[It] [sig-storage] CSI mock volume',
        'skipped',
        '<skipped message="skipped"></skipped>',
      ),
      testcase('[It] [sig-apps] pending one', 'pending', '<skipped message="pending"></skipped>'),
      testcase('[ReportAfterSuite] Kubernetes e2e JUnit report', 'passed'),
    );
    expect(countJunit(xml)).toEqual({ passed: 2, failed: 0, failedNames: [] });
  });

  it('counts every state that is not passed/skipped/pending as a failure, suite nodes included', () => {
    const xml = junit(
      testcase('[SynchronizedBeforeSuite]', 'failed', '<failure type="failed">no nodes</failure>'),
      testcase(
        '[It] [sig-network] Proxy &quot;v1&quot; &lt;a&gt; &amp; b [Conformance]',
        'timedout',
      ),
      testcase('[It] [sig-network] HostPort [Conformance]', 'panicked'),
      testcase('[It] [sig-network] Networking [Conformance]', 'interrupted'),
      testcase('[It] [sig-network] EndpointSlice [Conformance]', 'aborted'),
      testcase('[It] [sig-network] DNS [Conformance]', 'passed'),
    );
    const c = countJunit(xml);
    expect(c.passed).toBe(1);
    expect(c.failed).toBe(5);
    expect(c.failedNames).toContain(
      '[It] [sig-network] Proxy "v1" <a> & b [Conformance] (timedout)',
    );
    expect(c.failedNames).toContain('[SynchronizedBeforeSuite] (failed)');
  });

  it('rejects a testcase without a status instead of guessing', () => {
    expect(() =>
      countJunit(junit('<testcase name="[It] x" classname="s" time="1"></testcase>')),
    ).toThrow(/without a status/);
  });

  it('finds nothing in a report without testcases', () => {
    expect(countJunit(junit())).toEqual({ passed: 0, failed: 0, failedNames: [] });
  });
});

describe('ranSpecs', () => {
  it('reads the matched and total spec counts of the summary', () => {
    const out =
      'Will run 45 of 7204 specs\n...\nRan 45 of 7204 Specs in 0.412 seconds\nSUCCESS! -- 0 Passed';
    expect(ranSpecs(out)).toEqual({ ran: 45, total: 7204 });
  });

  it('reads a run that matched nothing as 0, and output without a summary as undefined', () => {
    expect(ranSpecs('Ran 0 of 7204 Specs in 0.001 seconds')).toEqual({ ran: 0, total: 7204 });
    expect(ranSpecs('panic: flag provided but not defined')).toBeUndefined();
  });
});
