/**
 * Runs the Kubernetes e2e suite (e2e.test, hack/tools/build.sh e2e.test) against a cluster: first a
 * dry run that must match at least one spec, then the focused run, whose junit report is counted.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../../harness/process.js';
import { toolPath } from '../../harness/tools.js';
import { countJunit, ranSpecs, type SpecCounts } from './report.js';

/** sig-network conformance, as issue 14 (4h) defines it. Ginkgo regexps, passed as one argv each. */
export const SIG_NETWORK_CONFORMANCE = {
  focus: '\\[sig-network\\].*\\[Conformance\\]',
  skip: '\\[Serial\\]|\\[Disruptive\\]',
};

export interface SuiteOptions {
  kubeconfig: string;
  /** Where the junit XML and e2e.test's log go; created if missing. */
  reportDir: string;
  focus?: string;
  skip?: string;
  /** Ginkgo's own suite timeout; the process is killed 2 min after it. */
  timeoutMinutes?: number;
}

export interface SuiteResult extends SpecCounts {
  /** Specs the dry run matched. */
  matched: number;
  exitCode: number;
  seconds: number;
  log: string;
}

function suiteArgs(o: SuiteOptions): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    '--provider=skeleton',
    `--kubectl-path=${toolPath('kubectl')}`,
    `--ginkgo.focus=${o.focus ?? SIG_NETWORK_CONFORMANCE.focus}`,
    `--ginkgo.skip=${o.skip ?? SIG_NETWORK_CONFORMANCE.skip}`,
    '--ginkgo.no-color',
  ];
}

/** How many specs the focus/skip pair selects (a Ginkgo dry run: nothing touches the cluster). */
export async function matchedSpecs(o: SuiteOptions): Promise<number> {
  const r = await runProcess(toolPath('e2e.test'), [...suiteArgs(o), '--ginkgo.dry-run'], {
    timeoutMs: 120_000,
  });
  const ran = ranSpecs(r.stdout);
  if (r.code !== 0 || ran === undefined) {
    throw new Error(`e2e.test dry run failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return ran.ran;
}

/** Runs e2e.test to its end with stdout+stderr in `log`; resolves with its exit code. */
function runLogged(args: string[], log: string, timeoutMs: number): Promise<number> {
  const fd = openSync(log, 'w');
  return new Promise<number>((res, rej) => {
    const child = spawn(toolPath('e2e.test'), args, {
      stdio: ['ignore', fd, fd],
      timeout: timeoutMs,
    });
    child.on('error', rej);
    child.on('close', (code, signal) => res(code ?? (signal ? 128 : -1)));
  }).finally(() => closeSync(fd));
}

const junitFiles = (dir: string): string[] =>
  readdirSync(dir).filter((f) => /^junit.*\.xml$/.test(f));

function readJunit(dir: string): SpecCounts {
  const files = junitFiles(dir);
  if (files.length === 0) throw new Error(`e2e.test wrote no junit report in ${dir}`);
  const total: SpecCounts = { passed: 0, failed: 0, failedNames: [] };
  for (const f of files) {
    const c = countJunit(readFileSync(join(dir, f), 'utf8'));
    total.passed += c.passed;
    total.failed += c.failed;
    total.failedNames.push(...c.failedNames);
  }
  return total;
}

/**
 * Dry run, then the focused run. Throws when the dry run matches nothing (a run that selects no
 * spec must never count as a pass); otherwise resolves with the junit counts.
 */
export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  const matched = await matchedSpecs(o);
  if (matched === 0)
    throw new Error(`ginkgo focus ${o.focus ?? SIG_NETWORK_CONFORMANCE.focus} matched 0 specs`);
  mkdirSync(o.reportDir, { recursive: true });
  // A report left by an earlier run must never be counted as this run's.
  for (const f of junitFiles(o.reportDir)) rmSync(join(o.reportDir, f));
  const log = join(o.reportDir, 'e2e.log');
  const minutes = o.timeoutMinutes ?? 50;
  const args = [...suiteArgs(o), `--ginkgo.timeout=${minutes}m`, `--report-dir=${o.reportDir}`];
  const start = Date.now();
  const exitCode = await runLogged(args, log, (minutes + 2) * 60_000);
  const seconds = Math.round((Date.now() - start) / 1000);
  const counts = readJunit(o.reportDir);
  return { matched, exitCode, seconds, log, ...counts };
}

/** One line per run, e.g. `conformance vxlan: 45/45 passed, 0 failed, 0 not run (444 s, ...)`. */
export function summaryLine(label: string, r: SuiteResult): string {
  const notRun = r.matched - r.passed - r.failed;
  return (
    `conformance ${label}: ${r.passed}/${r.matched} passed, ${r.failed} failed, ` +
    `${notRun} not run (${r.seconds} s, e2e.test exit ${r.exitCode}, log ${r.log})`
  );
}

/** A run passes only when e2e.test exited 0 and every matched spec passed. */
export function suitePassed(r: SuiteResult): boolean {
  return r.exitCode === 0 && r.failed === 0 && r.matched > 0 && r.passed === r.matched;
}
