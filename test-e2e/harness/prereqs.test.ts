/** The prerequisite check itself (needs nothing: it must run, and mean the same, everywhere). */
import { PrereqError, checkPrereqs, inCI, missingPrereqs } from './prereqs.js';

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
