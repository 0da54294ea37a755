/**
 * bin/edgelat.js runs the compiled dist/ (scripts/build.mjs) while it is fresh, and the TypeScript
 * sources through tsx with EDGELAT_FROM_SOURCE=1 (or a source newer than the build): both must give
 * the same answers. The suite's other CLI tests run whichever is fresh.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = new URL('../../../bin/edgelat.js', import.meta.url).pathname;
const DIST_MAIN = new URL('../../../dist/services/cli/main.js', import.meta.url).pathname;

describe('bin/edgelat.js', () => {
  it('answers --help and a usage error alike from dist/ and from the sources', async () => {
    const answer = async (fromSource: string, args: string[]) => {
      const env = { ...process.env, EDGELAT_FROM_SOURCE: fromSource };
      return run('node', [BIN, ...args], { env }).then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (e: { code: number; stdout: string; stderr: string }) => e);
    };
    const [help, helpSrc, usage, usageSrc] = await Promise.all([
      answer('0', ['--help']), answer('1', ['--help']), answer('0', ['gate', '--model', 'x']), answer('1', ['gate', '--model', 'x']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('EDGELAT_FROM_SOURCE');
    expect(helpSrc).toEqual(help);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toMatch(/^edgelat: /);
    expect({ code: usageSrc.code, stderr: usageSrc.stderr }).toEqual({ code: usage.code, stderr: usage.stderr });
  });

  it('npm ci built dist/ (the prepare script), with the files the code reads beside it', () => {
    expect(existsSync(DIST_MAIN), 'run `npm run build`').toBe(true);
    for (const f of ['data/mlperf-singlestream/base-latency.csv', 'sql/migrations', 'package.json', 'schemas/inference-event.v1.avsc', '.built']) {
      expect(existsSync(new URL(`../../../dist/${f}`, import.meta.url).pathname), f).toBe(true);
    }
  });

  it('npx edgelat runs node_modules/.bin/edgelat, which the build links to bin/edgelat.js; package.json names no bin', async () => {
    // A bin in package.json makes npm 11 install the checkout into its npx cache on each call: the first call ran the
    // build again in the checkout (15 s, dist/ deleted under any running command), and every call paid 1.3 s (a trial).
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { bin?: unknown };
    expect(pkg.bin).toBeUndefined();
    const link = new URL('../../../node_modules/.bin/edgelat', import.meta.url).pathname;
    expect(realpathSync(link)).toBe(realpathSync(BIN));
    const { stdout } = await run(link, ['--version']);
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  });
});
