/**
 * The operator image's uncompressed size (every node pulls it; goal: <= 150 MB), built from the
 * repository's Dockerfile as users build it. Needs a Docker engine (`docker info` answers, e.g.
 * DOCKER_HOST from hack/kind/dockerd.sh); without one the row says plainly that it was not measured
 * and why. The floor is the node binary inside the same image: no image of a Node program can be
 * smaller than its runtime.
 *   FLOP_IMAGE=name:tag          measure that image instead of building one
 *   NODE_IMAGE, BUILD_NODE_IMAGE passed to `docker build` as build args when set (local bases)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO } from '../test-e2e/harness/tools.js';
import type { BenchResult } from './types.js';

const exec = promisify(execFile);
const MB = 1e6;
const GOAL_MB = 150;
const BENCH_TAG = 'flannel-operator:bench';

async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await exec('docker', args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
  return r.stdout.trim();
}

/** Why no image can be built or inspected here, or undefined when an engine answers. */
async function noEngine(): Promise<string | undefined> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], 20_000);
    return undefined;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return msg.includes('ENOENT')
      ? 'no docker CLI on PATH'
      : `no Docker engine answers (${lastLine(e)})`;
  }
}

function lastLine(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  const text = (err.stderr || err.message || String(e)).trim().split('\n');
  return text[text.length - 1] ?? '';
}

/** Builds the repository's Dockerfile (host network: the build's npm and apt reach what this host reaches). */
async function buildImage(): Promise<string> {
  const args = ['build', '-q', '--network', 'host', '-t', BENCH_TAG];
  for (const arg of ['NODE_IMAGE', 'BUILD_NODE_IMAGE']) {
    const v = process.env[arg];
    if (v) args.push('--build-arg', `${arg}=${v}`);
  }
  await docker([...args, REPO], 45 * 60_000);
  return BENCH_TAG;
}

export async function run(): Promise<BenchResult[]> {
  const why = await noEngine();
  if (why) {
    process.stderr.write(`bench: image size NOT MEASURED: ${why}\n`);
    return [
      {
        name: 'image size',
        value: NaN,
        unit: 'MB',
        notes: `**NOT MEASURED**: ${why}; goal <= ${GOAL_MB} MB`,
      },
    ];
  }
  const image = process.env.FLOP_IMAGE || (await buildImage());
  const size = Number(await docker(['image', 'inspect', '--format', '{{.Size}}', image])) / MB;
  const node = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--entrypoint',
    'node',
    image,
    '-p',
    "require('node:fs').statSync(process.execPath).size",
  ]);
  const over = size > GOAL_MB ? ` **OVER THE ${GOAL_MB} MB GOAL**` : '';
  return [
    {
      name: 'image size',
      value: size,
      unit: 'MB',
      floor: Number(node) / MB,
      notes: `${image}, uncompressed; goal <= ${GOAL_MB} MB; floor: its node binary alone${over}`,
    },
  ];
}
