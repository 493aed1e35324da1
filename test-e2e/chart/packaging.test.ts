/**
 * Packaging files that cannot run here without Docker: the kind suite's scripts (hack/kind, run
 * by `make e2e`) and the image's rootfs scripts must parse (`bash -n`) and be clean under
 * shellcheck; the Dockerfile must only COPY what exists and what .dockerignore lets through, and
 * name the one binary with its roles. What the image holds is checked by test-e2e/image and, on a
 * Docker host, hack/image/check.sh; test-e2e/kind builds and runs the image itself.
 */
import { jest } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, run } from './helpers.js';
import { itNeeds } from '../harness/jest.js';

jest.setTimeout(60_000);

const KIND_DIR = join(REPO, 'hack/kind');
const SCRIPTS = [
  ...readdirSync(KIND_DIR)
    .filter((f) => f.endsWith('.sh'))
    .map((f) => `hack/kind/${f}`),
  'hack/image/rootfs.sh',
  'hack/image/snapshot.sh',
  'hack/image/check.sh',
];

describe('packaging', () => {
  it.each(SCRIPTS)('%s parses and is executable (lib.sh: sourced only)', async (script) => {
    if (!script.endsWith('/lib.sh')) expect(statSync(join(REPO, script)).mode & 0o111).not.toBe(0);
    const r = await run('bash', ['-n', join(REPO, script)]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  itNeeds({ commands: ['shellcheck'] }, 'the scripts are clean under shellcheck', async () => {
    const paths = SCRIPTS.map((s) => join(REPO, s));
    const r = await run('shellcheck', ['-x', '--severity=style', '--shell=bash', ...paths]);
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: '' });
  });

  it('Dockerfile: multi-stage, COPY sources exist and pass .dockerignore, non-root, one entrypoint', () => {
    const df = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*'); // allow-list: only what is named below goes into the context
    const allowed = ignore
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));

    const stages = [...df.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map(
      (m) => m[2] ?? 'final',
    );
    expect(stages).toEqual(['build', 'rootfs', 'final']);
    expect(df).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(df).not.toMatch(/^# syntax=/m); // no BuildKit frontend to fetch
    expect(df).toMatch(/^FROM scratch$/m);
    expect(df).toContain('hack/image/bundle.js --app /app');
    expect(df).toContain('COPY --from=build /app /rootfs/opt/flannel-operator');
    for (const pkg of ['nftables', 'iptables', 'iproute2']) expect(df).toContain(pkg);

    const copies = [...df.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].map((m) =>
      m[1]!.trim().split(/\s+/),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const parts of copies) {
      for (const src of parts.slice(0, -1)) {
        expect({ src, exists: existsSync(join(REPO, src)) }).toEqual({ src, exists: true });
        expect({ src, allowed: allowed.includes(src.replace(/\/$/, '')) }).toEqual({
          src,
          allowed: true,
        });
      }
    }
    // The build script and entry points the image relies on.
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
    expect(pkg.bin['flannel-operator']).toBe('dist/cli/main.js');
    expect(
      readFileSync(join(REPO, 'src/cli/main.ts'), 'utf8').startsWith('#!/usr/bin/env node'),
    ).toBe(true);
    expect(df).toMatch(/^USER 65532:65532$/m);
    expect(df).toMatch(/^ENTRYPOINT \["flannel-operator"\]$/m);
    expect(df).toMatch(/^CMD \["controller"\]$/m);
  });
});
