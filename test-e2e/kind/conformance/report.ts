/**
 * Reading what e2e.test reports (pure): the junit XML it writes to --report-dir and Ginkgo's
 * "Ran N of M Specs" line. Ginkgo writes both; these readers only count, never judge.
 */

export interface SpecCounts {
  passed: number;
  failed: number;
  /** Names of the failed specs and suite nodes, for the failure message. */
  failedNames: string[];
}

// Ginkgo's junit statuses (types.SpecState): everything but these three means the spec went wrong.
// A focused run lists every spec of the suite; those outside the focus are "skipped", so skipped
// specs are not counted at all (matched - passed - failed says how many focused ones did not run).
const PASSED = new Set(['passed']);
const SKIPPED = new Set(['skipped', 'pending']);

// Testcase names start with the node type: "[It] ..." for specs, "[SynchronizedBeforeSuite]",
// "[ReportAfterSuite] ..." and the like for suite nodes. A suite node's failure fails the run; its
// success is no spec passing.
const SUITE_NODE =
  /^\[(DeferCleanup \(Suite\)|(Synchronized)?(Before|After)Suite|Report(Before|After)Suite)\]/;

const XML_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ent: string) => {
    if (ent.startsWith('#x') || ent.startsWith('#X'))
      return String.fromCodePoint(parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
    return XML_ENTITIES[ent] ?? whole;
  });
}

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : undefined;
}

/** Counts the testcases of a Ginkgo junit report by their status attribute. */
export function countJunit(xml: string): SpecCounts {
  const counts: SpecCounts = { passed: 0, failed: 0, failedNames: [] };
  for (const [tag] of xml.matchAll(/<testcase\b[^>]*>/g)) {
    const name = attribute(tag, 'name') ?? '';
    const status = attribute(tag, 'status');
    if (status === undefined) throw new Error(`junit testcase without a status: ${tag}`);
    const suiteNode = SUITE_NODE.test(name);
    if (PASSED.has(status)) {
      if (!suiteNode) counts.passed++;
    } else if (!SKIPPED.has(status)) {
      counts.failed++;
      counts.failedNames.push(`${name} (${status})`);
    }
  }
  return counts;
}

/** Ginkgo's "Ran <matched> of <total> Specs" summary line; undefined when the output has none. */
export function ranSpecs(output: string): { ran: number; total: number } | undefined {
  const m = /^Ran (\d+) of (\d+) Specs?\b/m.exec(output);
  return m ? { ran: Number(m[1]), total: Number(m[2]) } : undefined;
}
