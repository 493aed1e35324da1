/**
 * The agent runs on every node, so it must not load @kubernetes/client-node (~80 MiB of RSS).
 * A static walk of the import graph from the CLI's `agent` command; `import type` is erased by the
 * compiler and not followed, everything else (also `import { type X }`, kept under
 * verbatimModuleSyntax, dynamic `import('...')` and `createRequire(import.meta.url)('...')`) is.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLIENT_NODE = '@kubernetes/client-node';

function specifiers(file: string): { static: string[]; dynamic: string[] } {
  const text = readFileSync(file, 'utf8');
  const stat: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s*)?['"]([^'"\n]+)['"]/g;
  for (const m of text.matchAll(re)) if (!m[1]) stat.push(m[2]!);
  // A CommonJS package required at load time (kernel/netlink.ts loads netlink's modules so,
  // through `const requireCjs = createRequire(import.meta.url)`): loaded as well.
  for (const m of text.matchAll(/\bcreateRequire\(import\.meta\.url\)\(\s*['"]([^'"]+)['"]\s*\)/g))
    stat.push(m[1]!);
  if (/\bconst requireCjs = createRequire\(import\.meta\.url\)/.test(text))
    for (const m of text.matchAll(/\brequireCjs\(\s*['"]([^'"]+)['"]\s*\)/g)) stat.push(m[1]!);
  const dynamic = [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return { static: stat, dynamic };
}

/** Every file and package reachable from `entries` (relative `.js` specifiers resolve to `.ts`). */
function graph(...entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const s = specifiers(file);
    for (const spec of [...s.static, ...s.dynamic]) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      // A package's own modules (netlink/dist/raw) count as the package.
      else if (!spec.startsWith('node:'))
        packages.add(
          spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/'),
        );
    }
  };
  for (const e of entries) visit(e);
  return { files, packages };
}

const loadsClientNode = (packages: Set<string>): boolean =>
  [...packages].some((p) => p === CLIENT_NODE || p.startsWith(`${CLIENT_NODE}/`));

describe('agent module graph', () => {
  it('`flannel-operator agent` loads the agent lazily and nothing of the other commands', () => {
    const cliMain = join(SRC, 'cli/main.ts');
    const cli = specifiers(cliMain);
    expect(cli.dynamic).toContain('../agent/main.js');
    // What `flannel-operator agent` loads: the CLI's static imports, then the agent.
    const staticDeps = cli.static.map((s) =>
      s.startsWith('.') ? resolve(SRC, 'cli', s.replace(/\.js$/, '.ts')) : s,
    );
    const g = graph(...staticDeps.filter((s) => s.startsWith('/')), join(SRC, 'agent/main.ts'));
    for (const s of staticDeps.filter((d) => !d.startsWith('/'))) g.packages.add(s);
    expect(loadsClientNode(g.packages)).toBe(false);
  });

  it('the agent does not load @kubernetes/client-node, and uses the small kubeconfig loader', () => {
    const g = graph(join(SRC, 'agent/main.ts'));
    expect(g.files).toContain(join(SRC, 'kube/kubeconfig.ts'));
    expect(g.files).not.toContain(join(SRC, 'kube/client-node-auth.ts'));
    expect(g.packages).toContain('netlink');
    expect([...g.packages].filter((p) => p.startsWith(CLIENT_NODE))).toEqual([]);
  });

  it('the agent loads three packages: no schema library, YAML parser or address library', () => {
    // Each costs several MiB of RSS on every node (issue 13): api/group.js, not api/index.js.
    expect([...graph(join(SRC, 'agent/main.ts')).packages].sort()).toEqual([
      'netlink',
      'pino',
      'prom-client',
    ]);
  });

  it('the walk does find client-node where it is used (the controller)', () => {
    expect(loadsClientNode(graph(join(SRC, 'controller/main.ts')).packages)).toBe(true);
    expect(loadsClientNode(graph(join(SRC, 'agent/main.ts')).packages)).toBe(false);
  });
});
