import { parseDaemonFlags } from './flags.js';

describe('parseDaemonFlags', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
  };
  const parse = (argv: string[]) => {
    if (argv.includes('--help')) return 'help' as const;
    if (argv.includes('--bad')) throw new Error('--bad: unknown flag');
    return { argv };
  };

  it('returns the parsed flags', () => {
    const c = capture();
    expect(parseDaemonFlags(['--x'], parse, 'USAGE\n', c.io)).toEqual({ flags: { argv: ['--x'] } });
    expect(c.out.concat(c.err)).toEqual([]);
  });

  it('--help prints the usage on stdout, exit 0', () => {
    const c = capture();
    expect(parseDaemonFlags(['--help'], parse, 'USAGE\n', c.io)).toEqual({ exit: 0 });
    expect(c.out).toEqual(['USAGE\n']);
    expect(c.err).toEqual([]);
  });

  it('bad flags print the error and the usage on stderr, exit 2', () => {
    const c = capture();
    expect(parseDaemonFlags(['--bad'], parse, 'USAGE\n', c.io)).toEqual({ exit: 2 });
    expect(c.err).toEqual(['--bad: unknown flag\n\nUSAGE\n']);
    expect(c.out).toEqual([]);
  });
});
