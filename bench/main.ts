/**
 * `make bench`: runs every benchmark module and prints one markdown table plus the JSON.
 * Each module exports `run(): Promise<BenchResult[]>` and measures its own floor in the same run,
 * so ratios compare like with like on this machine, now.
 * BENCH_ONLY=ipam,agent limits the modules; results are also written to bench-results.json.
 * A floor is the fastest simple correct implementation: a row more than 2x faster than its floor
 * means the floor is wrong, and is flagged (table, JSON, stderr, exit code).
 */
import { writeFileSync } from 'node:fs';
import type { BenchResult } from './types.js';

const MODULES = ['ipam', 'controller', 'agent', 'image'] as const;

interface ModuleResult {
  module: string;
  results: BenchResult[];
  error?: string;
}

/** A row may not beat its floor by more than this factor. */
const FLOOR_SLACK = 2;

/** Rows that beat their floor by more than FLOOR_SLACK: marked in place, returned for the summary. */
function flagWrongFloors(all: ModuleResult[]): string[] {
  const wrong: string[] = [];
  for (const m of all) {
    for (const r of m.results) {
      const ratio = r.ratio ?? (r.floor ? r.value / r.floor : undefined);
      if (ratio === undefined || !(ratio < 1 / FLOOR_SLACK)) continue;
      r.floorWrong = true;
      r.notes = `**FLOOR WRONG: ${format(1 / ratio)}x faster than its floor** ${r.notes ?? ''}`;
      wrong.push(
        `${m.module}: ${r.name} (${format(r.value)} ${r.unit} vs floor ${format(r.floor)})`,
      );
    }
  }
  return wrong;
}

function format(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '';
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

function markdown(all: ModuleResult[]): string {
  const lines = [
    '| module | benchmark | value | unit | floor | ratio | notes |',
    '|---|---|---:|---|---:|---:|---|',
  ];
  for (const m of all) {
    if (m.error)
      lines.push(`| ${m.module} | (failed) | | | | | ${m.error.replace(/\|/g, '\\|')} |`);
    for (const r of m.results) {
      const ratio = r.ratio ?? (r.floor ? r.value / r.floor : undefined);
      lines.push(
        `| ${m.module} | ${r.name} | ${format(r.value)} | ${r.unit} | ${format(r.floor)} | ${format(ratio)} | ${r.notes ?? ''} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  const selected = MODULES.filter((m) => !only || only.includes(m));
  const all: ModuleResult[] = [];
  for (const module of selected) {
    process.stderr.write(`bench: ${module} ...\n`);
    try {
      const mod = (await import(new URL(`./${module}.js`, import.meta.url).href)) as {
        run(): Promise<BenchResult[]>;
      };
      all.push({ module, results: await mod.run() });
    } catch (err) {
      all.push({ module, results: [], error: err instanceof Error ? err.message : String(err) });
    }
  }
  const wrongFloors = flagWrongFloors(all);
  const report = { date: new Date().toISOString(), node: process.version, modules: all };
  writeFileSync('bench-results.json', `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${markdown(all)}\n\n${JSON.stringify(report)}\n`);
  if (wrongFloors.length > 0) {
    process.stderr.write(
      `\nbench: ${wrongFloors.length} row(s) beat their floor by more than ${FLOOR_SLACK}x; those floors are wrong:\n` +
        wrongFloors.map((w) => `  - ${w}\n`).join(''),
    );
  }
  return all.some((m) => m.error) || wrongFloors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
