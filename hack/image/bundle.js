#!/usr/bin/env node
/**
 * Bundles the built CLI (dist/, from `npm run build`) with esbuild, so the image needs no
 * node_modules tree: 95 MB of production packages become a few MB of tree-shaken chunks.
 *
 *   node hack/image/bundle.js [--out DIR]  writes DIR (default dist-bundle/): cli/main.js,
 *                                          cli/kubectl-flannel.js, chunks/*.js and meta.json
 *                                          (esbuild's map of outputs to their input modules)
 *   node hack/image/bundle.js --app DIR    also lays out DIR as the image's /opt/flannel-operator:
 *                                          package.json, dist/ (the bundle), node_modules/ holding
 *                                          only the external packages, for this platform only
 *
 * The bundle also holds cli/agent-snapshot.cjs: the agent alone (src/agent/snapshot.ts) as one
 * CommonJS script, which `node --build-snapshot` turns into the agent's startup snapshot, and
 * cli/agent-snapshot.argv: the node arguments that build it at its place in the image (one per
 * line; hack/image/snapshot.sh runs them with the image's own node).
 *
 *   node hack/image/bundle.js --snapshot FILE  also builds the agent's snapshot of the bundle (of
 *                                          the app tree's copy, with --app) into FILE with this
 *                                          node (the bench, the tests; a blob records its
 *                                          script's path, so it runs only where it was built)
 *
 * Code splitting keeps each role lazy as in dist/: main.js imports a role's chunks only when that
 * role runs, so the agent still never loads @kubernetes/client-node. Entries and chunks sit one
 * directory below the bundle root, like dist/cli/*.js, so `../../package.json` (version.ts) holds.
 */
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRIES = ['main', 'kubectl-flannel'];

/**
 * Packages left outside the bundle, shipped as packages with only the files they run:
 * - netlink: a native addon; node-gyp-build loads prebuilds/<platform>-<arch>/ beside its dist/.
 * - yaml: kubeconfig.ts loads it lazily through createRequire (the agent parses YAML only for a
 *   YAML kubeconfig), which a bundler cannot follow; one external copy serves every importer.
 */
const EXTERNAL = ['netlink', 'yaml'];
const RUNTIME_FILES = {
  netlink: ['package.json', 'LICENSE', 'dist', `prebuilds/${process.platform}-${process.arch}`],
  'node-gyp-build': ['package.json', 'LICENSE', 'index.js', 'node-gyp-build.js'],
  yaml: ['package.json', 'LICENSE', 'dist'],
};

// Bundled CommonJS packages call require() for Node built-ins; ESM chunks have none of their own.
const ESM_BANNER =
  "import { createRequire as __flopCreateRequire } from 'node:module';\n" +
  'const require = __flopCreateRequire(import.meta.url);';

export async function bundle(outdir = join(REPO, 'dist-bundle')) {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: Object.fromEntries(ENTRIES.map((e) => [`cli/${e}`, `dist/cli/${e}.js`])),
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: ESM_BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  for (const e of ENTRIES) chmodSync(join(outdir, 'cli', `${e}.js`), 0o755);
  await bundleAgentSnapshot(outdir);
  return outdir;
}

/**
 * Built-ins the snapshot script loads at first use, through stand-ins, instead of while the blob
 * is built. Node 20 cannot evaluate node:http in a snapshot's builder (it calls Array#toSorted,
 * which the builder's context lacks), node:tls leaves a native object V8 cannot serialize, and
 * Node warns that it has not verified the others in a user snapshot. The export names are read
 * here, where they load fine; esbuild reads a named import from the stand-in at each use.
 */
const LOAD_AT_FIRST_USE = /^(node:)?(http|https|tls|child_process|readline|worker_threads)$/;
const loadAtFirstUse = {
  name: 'load-at-first-use',
  setup(b) {
    b.onResolve({ filter: LOAD_AT_FIRST_USE }, (a) => ({
      path: a.path.replace(/^node:/, ''),
      namespace: 'first-use',
    }));
    b.onLoad({ filter: /.*/, namespace: 'first-use' }, async (a) => {
      const name = JSON.stringify(`node:${a.path}`);
      const keys = Object.keys(await import(`node:${a.path}`)).filter((k) => k !== 'default');
      const getters = keys.map(
        (k) =>
          `  ${JSON.stringify(k)}: { enumerable: true, get: () => load()[${JSON.stringify(k)}] },`,
      );
      return {
        loader: 'js',
        contents: [
          'let mod;',
          // The builder's require() warns about built-ins it has not verified; at run time (Node
          // 20.16 and later) process.getBuiltinModule loads them without a word.
          `const load = () => (mod ??= process.getBuiltinModule?.(${name}) ?? require(${name}));`,
          'Object.defineProperties(exports, {',
          ...getters,
          '});',
        ].join('\n'),
      };
    });
  },
};

/**
 * cli/agent-snapshot.cjs and cli/agent-snapshot.argv (see the top). import.meta.url becomes the
 * script's own URL, so createRequire() finds the external packages from where it was built.
 */
async function bundleAgentSnapshot(outdir) {
  const { AGENT_SNAPSHOT_BLOB, APP_DIR } = await import(join(REPO, 'dist/agent/launch.js'));
  await build({
    absWorkingDir: REPO,
    entryPoints: ['dist/agent/snapshot.js'],
    outfile: join(outdir, 'cli/agent-snapshot.cjs'),
    bundle: true,
    // A script, not a module: the builder gives it require and __filename, but no `module`.
    format: 'iife',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    plugins: [loadAtFirstUse],
    define: { 'import.meta.url': '__flopScriptUrl' },
    // "use strict" first: a banner before esbuild's own would leave the script in sloppy mode.
    banner: {
      js: '"use strict";\nconst __flopScriptUrl = require("node:url").pathToFileURL(__filename).href;',
    },
    logLevel: 'warning',
  });
  const argv = await snapshotArgv(`${APP_DIR}/dist/cli/agent-snapshot.cjs`, AGENT_SNAPSHOT_BLOB);
  writeFileSync(join(outdir, 'cli/agent-snapshot.argv'), `${argv.join('\n')}\n`);
}

/**
 * node's arguments that build `script` (a cli/agent-snapshot.cjs) into `blob`: the agent's V8
 * flags first, as a blob loads only under the flags it was built with.
 */
async function snapshotArgv(script, blob) {
  const { AGENT_NODE_OPTIONS } = await import(join(REPO, 'dist/agent/launch.js'));
  return [...AGENT_NODE_OPTIONS.split(' '), '--snapshot-blob', blob, '--build-snapshot', script];
}

/** Builds the agent's snapshot of the bundle in `bundleDir` into `blob`, with this node. */
async function buildAgentSnapshot(bundleDir, blob) {
  const argv = await snapshotArgv(join(bundleDir, 'cli/agent-snapshot.cjs'), blob);
  // Its warnings (the `module` built-in, --jitless turning WebAssembly off) are not failures.
  execFileSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  return blob;
}

/** Copies one package's runtime files, without type declarations and source maps. */
function copyPackage(name, appDir) {
  const from = join(REPO, 'node_modules', name);
  for (const f of RUNTIME_FILES[name]) {
    statSync(join(from, f)); // a missing file (e.g. no prebuild for this platform) fails the build
    cpSync(join(from, f), join(appDir, 'node_modules', name, f), {
      recursive: true,
      filter: (src) => !/\.(d\.[cm]?ts|map)$/.test(src),
    });
  }
}

/** The image's application tree: what /opt/flannel-operator holds. */
export function layoutApp(bundleDir, appDir) {
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(appDir, { recursive: true });
  cpSync(bundleDir, join(appDir, 'dist'), {
    recursive: true,
    filter: (src) => relative(bundleDir, src) !== 'meta.json',
  });
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  // "type": "module" makes the .js chunks ESM; version.ts reads "version".
  const appPkg = { name: pkg.name, version: pkg.version, license: pkg.license, type: pkg.type };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(appPkg, null, 2)}\n`);
  for (const name of Object.keys(RUNTIME_FILES)) copyPackage(name, appDir);
  return appDir;
}

/** The value after `flag`, resolved as a path; undefined when the flag is absent. */
function pathFlag(argv, flag) {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  if (!argv[i + 1]) throw new Error(`${flag} needs a path`);
  return resolve(argv[i + 1]);
}

async function main(argv) {
  const outdir = await bundle(pathFlag(argv, '--out'));
  process.stdout.write(`bundled ${outdir}\n`);
  const app = pathFlag(argv, '--app');
  if (app) process.stdout.write(`app tree ${layoutApp(outdir, app)}\n`);
  const blob = pathFlag(argv, '--snapshot');
  if (!blob) return;
  // For the tree it will run in: the app's copy of the bundle when there is one.
  await buildAgentSnapshot(app ? join(app, 'dist') : outdir, blob);
  process.stdout.write(`agent snapshot ${blob}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
