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
 * Code splitting keeps each role lazy as in dist/: main.js imports a role's chunks only when that
 * role runs, so the agent still never loads @kubernetes/client-node. Entries and chunks sit one
 * directory below the bundle root, like dist/cli/*.js, so `../../package.json` (version.ts) holds.
 */
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
const BANNER =
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
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  for (const e of ENTRIES) chmodSync(join(outdir, 'cli', `${e}.js`), 0o755);
  return outdir;
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
  if (!argv[i + 1]) throw new Error(`${flag} needs a directory`);
  return resolve(argv[i + 1]);
}

async function main(argv) {
  const outdir = await bundle(pathFlag(argv, '--out'));
  process.stdout.write(`bundled ${outdir}\n`);
  const app = pathFlag(argv, '--app');
  if (app) process.stdout.write(`app tree ${layoutApp(outdir, app)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
