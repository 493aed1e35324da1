import { spawnSync } from 'node:child_process';
import { AGENT_COMMAND, AGENT_NODE_OPTIONS, AGENT_SNAPSHOT_BLOB } from './launch.js';

describe('AGENT_NODE_OPTIONS', () => {
  it('node starts with them as NODE_OPTIONS (it refuses most V8 flags there)', () => {
    const r = spawnSync(process.execPath, ['-e', "process.stdout.write('started')"], {
      env: { ...process.env, NODE_OPTIONS: AGENT_NODE_OPTIONS },
      encoding: 'utf8',
    });
    expect(r.stderr).not.toMatch(/not allowed in NODE_OPTIONS|bad option/);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'started' });
  });
});

describe('AGENT_COMMAND', () => {
  it('runs the agent role from the snapshot blob, with no script', () => {
    expect(AGENT_COMMAND).toEqual(['node', '--snapshot-blob', AGENT_SNAPSHOT_BLOB, 'agent']);
  });
});
