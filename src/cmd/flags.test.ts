import {
  HELP_FLAG,
  UsageError,
  bool,
  duration,
  logLevel,
  parseDaemonFlags,
  parseFlags,
  posInt,
} from './flags.js';

describe('parseDaemonFlags', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
  };
  const parse = (argv: string[]) => {
    if (argv.includes('--help')) return 'help' as const;
    if (argv.includes('--bad')) throw new UsageError('--bad: unknown flag');
    if (argv.includes('--bug')) throw new TypeError('x is undefined');
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

  it('any other error is not bad usage: it propagates, nothing printed', () => {
    const c = capture();
    expect(() => parseDaemonFlags(['--bug'], parse, 'USAGE\n', c.io)).toThrow(TypeError);
    expect(c.out.concat(c.err)).toEqual([]);
  });
});

describe('value parsers', () => {
  it('parses durations', () => {
    expect(duration('15s', 0, 'x')).toBe(15_000);
    expect(duration('2m', 0, 'x')).toBe(120_000);
    expect(duration('250ms', 0, 'x')).toBe(250);
    expect(duration('3', 0, 'x')).toBe(3000);
    expect(duration(undefined, 7, 'x')).toBe(7);
    expect(() => duration('soon', 0, 'x')).toThrow(UsageError);
  });

  it('parses booleans, positive integers and log levels', () => {
    expect(bool('yes', false, 'x')).toBe(true);
    expect(bool(undefined, true, 'x')).toBe(true);
    expect(() => bool('maybe', true, 'x')).toThrow(/--x: expected true or false/);
    expect(posInt('3', 1, 'x')).toBe(3);
    expect(() => posInt('0', 1, 'x')).toThrow(UsageError);
    expect(logLevel(undefined)).toBe('info');
    expect(() => logLevel('loud')).toThrow(/unknown level "loud"/);
  });

  it('every usage error has the one code and exit code 2', () => {
    for (const bad of [() => duration('x', 0, 'd'), () => parseFlags(['--nope'], HELP_FLAG)]) {
      expect(bad).toThrow(expect.objectContaining({ code: 'ECLI_USAGE', exitCode: 2 }));
    }
  });
});
