import { jest } from '@jest/globals';
import { runFromSnapshot } from './snapshot.js';

describe('runFromSnapshot', () => {
  it('runs only the agent role, and says so', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runFromSnapshot(['controller'])).toBe(2);
      expect(await runFromSnapshot([])).toBe(2);
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
        'this snapshot runs the agent only: expected "agent" and its flags, got "controller"\n',
        'this snapshot runs the agent only: expected "agent" and its flags, got ""\n',
      ]);
    } finally {
      stderr.mockRestore();
    }
  });

  it('hands the rest to the agent', async () => {
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runFromSnapshot(['agent', '--help'])).toBe(0);
      expect(String(stdout.mock.calls[0]?.[0])).toMatch(/^Usage: flannel-operator agent/);
    } finally {
      stdout.mockRestore();
    }
  });
});
