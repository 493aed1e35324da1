/** The prerequisite check itself (needs nothing: it must run, and mean the same, everywhere). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LAB_PREREQS,
  PrereqError,
  checkPrereqs,
  inCI,
  kindDockerdPid,
  missingPrereqs,
} from './prereqs.js';

describe('inCI', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['', false],
    ['0', false],
    ['false', false],
    ['False', false],
    [undefined, false],
  ])('CI=%j -> %j', (ci, expected) => {
    expect(inCI(ci === undefined ? {} : { CI: ci })).toBe(expected);
  });
});

describe('checkPrereqs', () => {
  const missing = { tools: ['no-such-tool-xyz'], commands: ['no-such-command-xyz'] };

  it('says plainly what is missing', () => {
    expect(missingPrereqs(missing)).toEqual([
      expect.stringMatching(/^missing tools no-such-tool-xyz in .*\/bin \(run 'make tools'\)$/),
      "missing commands no-such-command-xyz (run 'make deps')",
    ]);
    expect(missingPrereqs({ commands: ['sh'] })).toEqual([]);
  });

  it('outside CI returns the reason (the caller skips with it)', () => {
    expect(checkPrereqs(missing, { CI: 'false' })).toMatch(/no-such-tool-xyz.*no-such-command-xyz/);
    expect(checkPrereqs({}, {})).toBeUndefined();
  });

  it('under CI (any truthy value) throws the reason, so the test fails', () => {
    for (const CI of ['true', '1']) {
      expect(() => checkPrereqs(missing, { CI })).toThrow(PrereqError);
      expect(() => checkPrereqs(missing, { CI })).toThrow(
        /integration prerequisites missing under CI: .*no-such-tool-xyz/,
      );
    }
  });
});

describe('the netns lab and the kind suite exclude each other', () => {
  const saved = process.env.FLOP_KIND_STATE;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flop-prereqs-kind-'));
    process.env.FLOP_KIND_STATE = dir;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.FLOP_KIND_STATE;
    else process.env.FLOP_KIND_STATE = saved;
  });

  // No lab of this host's (another suite's, a developer's) may change the outcome.
  const noLabs = { labNamespaces: () => [] };

  it('a running kind dockerd (live pid in its pidfile) stops the lab; none stops the kind suite', () => {
    expect(kindDockerdPid()).toBeUndefined();
    expect(missingPrereqs({ noKindDockerd: true }, noLabs)).toEqual([]);
    expect(missingPrereqs({ kindDockerd: true }, noLabs)).toEqual([
      expect.stringContaining("the kind suite's dockerd is not running"),
    ]);
    writeFileSync(join(dir, 'dockerd.pid'), `${process.pid}\n`);
    expect(kindDockerdPid()).toBe(process.pid);
    expect(missingPrereqs({ noKindDockerd: true })).toEqual([
      expect.stringContaining(`the kind suite's dockerd runs (pid ${process.pid})`),
    ]);
  });

  it('a lab namespace stops the kind suite, whatever dockerd does', () => {
    writeFileSync(join(dir, 'dockerd.pid'), `${process.pid}\n`);
    const oneLab = { labNamespaces: () => ['flop-abc123-n1'] };
    expect(missingPrereqs({ kindDockerd: true }, noLabs)).toEqual([]);
    expect(missingPrereqs({ kindDockerd: true }, oneLab)).toEqual([
      'netns lab namespaces exist (flop-abc123-n1); the kind suite must not run beside a lab',
    ]);
  });

  it('a stale pidfile counts as not running', () => {
    writeFileSync(join(dir, 'dockerd.pid'), '999999999\n');
    expect(kindDockerdPid()).toBeUndefined();
    expect(LAB_PREREQS.noKindDockerd).toBe(true);
  });
});
