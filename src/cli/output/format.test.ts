import { humanDuration, formatAge, renderTable, asList, renderData } from './format.js';
import { UsageError, parseFlags } from '../../cmd/flags.js';
import { outputFormat, KUBE_FLAGS, OUTPUT_FLAG } from './flags.js';
import { describeError, CliError } from './errors.js';
import { runCommand } from './run.js';
import { captureIO } from './io.js';

describe('humanDuration (kubectl AGE)', () => {
  const s = 1000;
  it.each([
    [0, '0s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [2 * 60 * s, '2m'],
    [(5 * 60 + 7) * s, '5m7s'],
    [45 * 60 * s, '45m'],
    [(3 * 60 + 20) * 60 * s, '3h20m'],
    [10 * 3600 * s, '10h'],
    [(3 * 24 + 5) * 3600 * s, '3d5h'],
    [30 * 24 * 3600 * s, '30d'],
    [(3 * 365 + 10) * 24 * 3600 * s, '3y10d'],
  ])('%d ms -> %s', (ms, want) => expect(humanDuration(ms)).toBe(want));
  it('formats from timestamps', () => {
    expect(formatAge('2026-01-01T00:00:00Z', new Date('2026-01-01T00:01:30Z'))).toBe('90s');
    expect(formatAge(undefined)).toBe('<unknown>');
  });
});

describe('renderTable', () => {
  const rows = [
    { a: 'x', b: 1, c: undefined },
    { a: 'longer', b: 22, c: 'w' },
  ];
  const cols = [
    { header: 'name', value: (r: (typeof rows)[number]) => r.a },
    { header: 'count', value: (r: (typeof rows)[number]) => r.b },
    { header: 'extra', value: (r: (typeof rows)[number]) => r.c, wide: true },
  ];
  it('aligns columns with three spaces and uppercase headers', () => {
    expect(renderTable(rows, cols)).toBe('NAME     COUNT\nx        1\nlonger   22\n');
  });
  it('adds wide columns and <none> for empty cells', () => {
    expect(renderTable(rows, cols, true)).toBe(
      'NAME     COUNT   EXTRA\nx        1       <none>\nlonger   22      w\n',
    );
  });
});

describe('structured output', () => {
  it('wraps objects in a v1 List', () => {
    expect(asList([{ a: 1 }])).toEqual({
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: '' },
      items: [{ a: 1 }],
    });
  });
  it('renders yaml and json', () => {
    expect(renderData({ a: [1] }, 'yaml')).toBe('a:\n  - 1\n');
    expect(JSON.parse(renderData({ a: [1] }, 'json'))).toEqual({ a: [1] });
  });
});

describe('flags', () => {
  it('parses kube and output flags', () => {
    const { values, positionals } = parseFlags(
      ['--kubeconfig', '/k', '-o', 'json', 'node1'],
      { ...KUBE_FLAGS, ...OUTPUT_FLAG },
      { positionals: { min: 1, max: 1 } },
    );
    expect(values).toEqual({ kubeconfig: '/k', output: 'json' });
    expect(positionals).toEqual(['node1']);
  });
  it('rejects unknown flags and extra/missing positionals as usage errors (exit 2)', () => {
    expect(() => parseFlags(['--nope'], KUBE_FLAGS)).toThrow(UsageError);
    expect(() => parseFlags(['a'], KUBE_FLAGS)).toThrow(/unexpected argument: a/);
    expect(() =>
      parseFlags([], KUBE_FLAGS, { positionals: { min: 1, max: 1, names: 'NODE' } }),
    ).toThrow(/missing argument: NODE/);
    let caught: unknown;
    try {
      parseFlags(['--nope'], KUBE_FLAGS);
    } catch (e) {
      caught = e;
    }
    expect(describeError(caught)).toMatchObject({ code: 'ECLI_USAGE', exitCode: 2 });
  });
  it('validates -o', () => {
    expect(outputFormat(undefined)).toBe('table');
    expect(() => outputFormat('xml')).toThrow(/unknown output format "xml"/);
  });
});

describe('runCommand', () => {
  it('prints code and hint on stderr and returns the exit code', async () => {
    const io = captureIO();
    const code = await runCommand(io, async () => {
      throw new CliError('boom', 'ECLI_BOOM', 1, 'do this');
    });
    expect(code).toBe(1);
    expect(io.stdout()).toBe('');
    expect(io.stderr()).toBe('error: boom [ECLI_BOOM]\nhint: do this\n');
  });
});
