/**
 * `edgelat demo` flags and its "try:" list, run as processes on isolated
 * EDGELAT_DATA_DIRs: a typed --shadows above --servers is bad usage (the
 * default 3 is capped at a smaller fleet), and every command the summary
 * suggests runs on the data it leaves: without --no-models that includes
 * predict, with --no-models (no champion model to predict with) it does not.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat, errLines } from '../helpers/edgelat-cli.ts';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'edgelat-demo-cli-'));

/** The commands of the summary's "try:" list, as argument arrays (`npx edgelat` dropped, double quotes removed). */
function suggestions(stdout: string): string[][] {
  const list = stdout.slice(stdout.indexOf('\ntry:\n') + 6).split('\n').filter((l) => l.startsWith('  npx edgelat '));
  return list.map((l) => [...l.slice('  npx edgelat '.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!));
}

describe('edgelat demo --shadows', () => {
  it.each([
    [['--shadows', '50', '--servers', '2'], 'edgelat: --shadows 50 is more than --servers 2: each shadow deployment runs beside one production server; give --shadows 2 or less, or more --servers'],
    [['--servers', '2', '--shadows=5'], 'edgelat: --shadows 5 is more than --servers 2: each shadow deployment runs beside one production server; give --shadows 2 or less, or more --servers'],
    [['--servers', '1', '--shadows', '3'], 'edgelat: --shadows 3 is more than --servers 1: each shadow deployment runs beside one production server; give --shadows 1 or less, or more --servers'],
  ])('demo %j exits 2 naming both flags', async (args, line) => {
    const r = await edgelat(['demo', ...args], fresh());
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([2, '', [line]]);
  });

  it('caps the default (3) at a smaller fleet instead of refusing it', async () => {
    const r = await edgelat(['demo', '--servers', '2', '--duration', '1', '--no-models'], fresh());
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringMatching(/shadows/)]);
    expect(r.stdout).toMatch(/enriched rows\s+[1-9]/);
  }, 120_000);
});

describe('edgelat demo: the "try:" list', () => {
  /** Run every suggestion on the demo's data dir; gate answers with 0 ALLOW, 1 BLOCK or 2 NEED_SHADOW. */
  async function runAll(list: string[][], dataDir: string): Promise<void> {
    for (const args of list) {
      const r = await edgelat(args, dataDir);
      expect(args[0] === 'gate' ? [0, 1, 2] : [0], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
      // A query suggested to a new user shows rows, not an empty answer.
      if (args[0] === 'sql') expect(r.stdout.trim(), args.join(' ')).not.toBe('');
    }
  }

  it('with the latency models trained, suggests predict too, and every suggestion runs', async () => {
    const dataDir = fresh();
    // --servers 2 leaves the default of 3 shadow deployments capped at 2, without a complaint.
    const demo = await edgelat(['demo', '--servers', '2', '--duration', '1', '--seed', '3'], dataDir);
    expect(demo.code, demo.stderr).toBe(0);
    const list = suggestions(demo.stdout);
    expect(list.map((a) => a[0])).toEqual(['sql', 'sql', 'predict', 'recommend', 'gate']);
    await runAll(list, dataDir);
  });

  it('with --no-models, leaves predict out (it needs a champion model), and every suggestion runs', async () => {
    const dataDir = fresh();
    // One server: the per-server query names it (edge-02 is not in this fleet).
    const demo = await edgelat(['demo', '--servers', '1', '--duration', '1', '--seed', '3', '--no-models'], dataDir);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^latency models: skipped \(--no-models; `edgelat model train` trains them\)$/m);
    const list = suggestions(demo.stdout);
    expect(list.map((a) => a[0])).toEqual(['sql', 'sql', 'recommend', 'gate']);
    await runAll(list, dataDir);
    // What the suggestion would have met.
    const predict = await edgelat(['predict', '--model', 'resnet50', '--chip', 'rk3588-mali-g610'], dataDir);
    expect([predict.code, errLines(predict.stderr)]).toEqual([2, ['edgelat: no champion model of kind total_ms_p50: run `edgelat demo` or `edgelat model train` first']]);
  });
});
