/**
 * `make bench`: runs every benchmark module and prints one markdown table plus the JSON.
 * Each module exports `run(): Promise<BenchResult[]>` and measures its own floor in the same run,
 * so ratios compare like with like on this machine, now.
 * BENCH_ONLY=ipam,agent limits the modules; results are also written to bench-results.json.
 */
import { writeFileSync } from 'node:fs';
import type { BenchResult } from './types.js';

const MODULES = ['ipam', 'controller', 'agent'] as const;

interface ModuleResult {
  module: string;
  results: BenchResult[];
  error?: string;
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
  const report = { date: new Date().toISOString(), node: process.version, modules: all };
  writeFileSync('bench-results.json', `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${markdown(all)}\n\n${JSON.stringify(report)}\n`);
  return all.some((m) => m.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
