import { stringify } from 'yaml';
import type { OutputFormat } from './flags.js';

/**
 * kubectl-like rendering: aligned columns with uppercase headers separated by three spaces,
 * `<none>` for empty cells, ages like `5d3h`, and json/yaml for machines.
 */

export interface Column<R> {
  header: string;
  value: (row: R) => string | number | undefined | null;
  /** Shown only with -o wide. */
  wide?: boolean;
}

export function renderTable<R>(rows: R[], columns: Column<R>[], wide = false): string {
  const cols = columns.filter((c) => wide || !c.wide);
  const cells = rows.map((r) =>
    cols.map((c) => {
      const v = c.value(r);
      return v === undefined || v === null || v === '' ? '<none>' : String(v);
    }),
  );
  const headers = cols.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** kubectl's duration format (k8s.io/apimachinery HumanDuration). */
export function formatAge(from: string | Date | undefined, now: Date = new Date()): string {
  if (from === undefined) return '<unknown>';
  const t = typeof from === 'string' ? Date.parse(from) : from.getTime();
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now.getTime() - t);
}

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0
      ? `${Math.floor(hours / 24 / 365)}y`
      : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** A `v1 List` of objects, as `kubectl get -o json` prints several. */
export function asList(items: unknown[]): {
  apiVersion: 'v1';
  kind: 'List';
  metadata: { resourceVersion: string };
  items: unknown[];
} {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/** json or yaml text of any value (objects, lists, reports). */
export function renderData(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  return stringify(value, { lineWidth: 0 });
}

export function isMachineFormat(f: OutputFormat): f is 'json' | 'yaml' {
  return f === 'json' || f === 'yaml';
}
