#!/usr/bin/env node
/**
 * Compile the command's TypeScript to dist/ (`npm run build`; `npm ci` runs it as `prepare`), so that
 * `bin/edgelat.js` starts without compiling: about 0.3 s for `edgelat --help` against 0.7 s through
 * tsx (bench/cli-startup.ts), paid by every command and every CLI test. Types are not checked here
 * (`npm run typecheck` does): a syntax error still fails the build.
 *
 * dist/ mirrors the tree (dist/services/cli/main.js), and links the files the code reads beside
 * itself (`new URL('../../data/…', import.meta.url)`): data/, sql/, package.json and the Avro
 * schemas. dist/.built is written with the build's start as its time; bin/edgelat.js runs dist/
 * only while no source file or folder is newer than it, and the sources through tsx otherwise. Last, it links
 * node_modules/.bin/edgelat to bin/edgelat.js (what `npx edgelat` runs).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// The build's start time: a source saved while tsc runs is newer than the build, whether tsc read it or not.
const started = new Date();
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(`build: tsc exited ${r.status ?? r.signal}; bin/edgelat.js will run the sources through tsx\n`);
  process.exit(1);
}
const link = (path) => {
  mkdirSync(dirname(join(dist, path)), { recursive: true });
  symlinkSync(relative(dirname(join(dist, path)), join(root, path)), join(dist, path));
};
for (const path of ['data', 'sql', 'package.json']) link(path);
for (const f of readdirSync(join(root, 'schemas'))) if (f.endsWith('.avsc')) link(join('schemas', f));
writeFileSync(join(dist, '.built'), `${started.toISOString()}\n`);
utimesSync(join(dist, '.built'), started, started);

// `npx edgelat` runs node_modules/.bin/edgelat when it is there, at once. package.json names no "bin" on purpose: npm
// (11) runs a package's own bin by installing the checkout into its npx cache, which runs this build again in the
// checkout (15 s on the first call, dist/ deleted under any running command) and costs about 1.3 s on every call.
const binLink = join(root, 'node_modules', '.bin', 'edgelat');
mkdirSync(dirname(binLink), { recursive: true });
rmSync(binLink, { force: true });
symlinkSync(relative(dirname(binLink), join(root, 'bin', 'edgelat.js')), binLink);
