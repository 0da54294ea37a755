/**
 * `edgelat demo` flags and its "try:" list, run as processes on isolated
 * EDGELAT_DATA_DIRs: a typed --shadows above --servers is bad usage (the
 * default 3 is capped at a smaller fleet), so is a fleet beyond what the
 * demo holds in memory, and every command the summary
 * suggests runs on the data it leaves: with --no-models (no champion model to
 * predict with) predict is left out (the list with models is run by
 * model-cli.test.ts, on the demo it trains).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat, errLines, runSuggestions, suggestions } from '../helpers/edgelat-cli.ts';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'edgelat-demo-cli-'));

describe('edgelat demo --shadows', () => {
  it.each([
    [['--shadows', '50', '--servers', '2'], 'edgelat: --shadows 50 is more than --servers 2: each shadow deployment runs beside one production server; give --shadows 2 or less, or more --servers'],
    [['--servers', '2', '--shadows=5'], 'edgelat: --shadows 5 is more than --servers 2: each shadow deployment runs beside one production server; give --shadows 2 or less, or more --servers'],
    [['--servers', '1', '--shadows', '3'], 'edgelat: --shadows 3 is more than --servers 1: each shadow deployment runs beside one production server; give --shadows 1 or less, or more --servers'],
  ])('demo %j exits 2 naming both flags', async (args, line) => {
    const r = await edgelat(['demo', ...args], fresh());
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([2, '', [line]]);
  });
});

describe('edgelat demo: the shadow hand-over flags', () => {
  it.each([
    [['--shadow-reorder', '1.5'], 'edgelat: option \'--shadow-reorder <fraction>\' argument \'1.5\' is invalid. --shadow-reorder must be a number >= 0 and <= 1, got "1.5"', '(run with --help for usage)'],
    [['--shadow-max-lag-ms', '70000'], 'edgelat: option \'--shadow-max-lag-ms <ms>\' argument \'70000\' is invalid. --shadow-max-lag-ms must be an integer from 0 to 60000, got "70000"', '(run with --help for usage)'],
    [['--shadow-sample', '0'], 'edgelat: option \'--shadow-sample <fraction>\' argument \'0\' is invalid. --shadow-sample must be a number > 0 and <= 1, got "0"', '(run with --help for usage)'],
    [['--shadows', '0', '--shadow-max-lag-ms', '5000', '--shadow-sample', '0.5'], 'edgelat: --shadow-max-lag-ms, --shadow-sample: no shadow deployment to apply them to: give --shadows N too'],
  ])('demo %j exits 2 naming the flag and value', async (args, ...lines) => {
    const r = await edgelat(['demo', '--servers', '2', '--duration', '1', ...args], fresh());
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([2, '', lines]);
  });

  it('F1 from the command line: lags up to 5 s with 10 % reordering give the verdicts and ratios of no lag; 60 s and sampling show', async () => {
    // A trial: lag and reordering were settable only through the simulator's config, not from the CLI.
    let summary = '';
    const verdicts = async (...flags: string[]) => {
      const dataDir = fresh();
      const demo = await edgelat(['demo', '--servers', '3', '--duration', '6', '--seed', '5', '--no-models', '--shadows', '2', '--bad-records', '0', ...flags], dataDir);
      expect(demo.code, demo.stderr).toBe(0);
      summary = demo.stdout;
      const q = await edgelat(['sql', 'SELECT edge_server_id, shadow_chip, toString(window_end) AS w, pairs, unpaired_production, unpaired_shadow, ratio, ratio_ci_low, ratio_ci_high, wilcoxon_w_plus, wilcoxon_p, verdict FROM edgelat.shadow_verdicts ORDER BY edge_server_id, shadow_chip, w', '--format', 'json'], dataDir);
      expect(q.code, q.stderr).toBe(0);
      return q.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pairs: number; unpaired_production: number; verdict: string });
    };
    const none = await verdicts('--shadow-max-lag-ms', '0', '--shadow-reorder', '0');
    expect(none.length).toBe(10);
    expect(summary).not.toMatch(/unpaired/);
    expect(none.reduce((n, v) => n + v.unpaired_production, 0)).toBe(0);
    expect(await verdicts('--shadow-max-lag-ms', '5000', '--shadow-reorder', '0.1', '--shadow-reorder-ms', '1500')).toEqual(none);
    // Beyond the lag tolerance some results miss their window: counted unpaired, not lost.
    const far = await verdicts('--shadow-max-lag-ms', '60000');
    expect(far.reduce((n, v) => n + v.unpaired_production, 0)).toBeGreaterThan(0);
    expect(far.reduce((n, v) => n + v.pairs + v.unpaired_production, 0)).toBe(none.reduce((n, v) => n + v.pairs, 0));
    // Half the requests mirrored: about half the pairs, the others unpaired production requests.
    const half = await verdicts('--shadow-sample', '0.5');
    const pairs = half.reduce((n, v) => n + v.pairs, 0);
    expect(pairs / none.reduce((n, v) => n + v.pairs, 0)).toBeGreaterThan(0.4);
    expect(pairs / none.reduce((n, v) => n + v.pairs, 0)).toBeLessThan(0.6);
    // The summary's line of each deployment says how many were left unpaired (a trial: it said nothing of them).
    const unpaired = [...summary.matchAll(/unpaired: ([\d,]+) production request\(s\)/g)].reduce((n, m) => n + Number(m[1]!.replace(/,/g, '')), 0);
    expect(unpaired).toBe(half.reduce((n, v) => n + v.unpaired_production, 0));
    expect(unpaired).toBeGreaterThan(0);
  }, 120_000);
});

describe('edgelat demo: servers × minutes', () => {
  // A trial: --servers 1000 (the flag's maximum) or --duration 10080 ran out of JS heap after minutes, then hung.
  it.each([
    [['--servers', '1000'], 'edgelat: --servers 1000 × --duration 20 is 20,000 server-minutes, more than the embedded demo holds in memory (2,400): give --duration 2 or less, or --servers 120 or less'],
    [['--duration', '10080'], 'edgelat: --servers 12 × --duration 10080 is 120,960 server-minutes, more than the embedded demo holds in memory (2,400): give --duration 200 or less'],
  ])('demo %j exits 2 at once, with the sizes that fit', async (args, line) => {
    const r = await edgelat(['demo', ...args], fresh());
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([2, '', [line]]);
  });
});

describe('edgelat demo: the "try:" list', () => {
  it('with --no-models, leaves predict out (it needs a champion model), and every suggestion runs', async () => {
    const dataDir = fresh();
    // One server: the per-server query names it (edge-02 is not in this fleet), and the default of 3
    // shadow deployments is capped at the fleet, not refused.
    const demo = await edgelat(['demo', '--servers', '1', '--duration', '1', '--seed', '3', '--no-models'], dataDir);
    expect([demo.code, errLines(demo.stderr).filter((l) => /shadows/.test(l))], demo.stderr).toEqual([0, []]);
    expect(demo.stdout).toMatch(/^latency models: skipped \(--no-models: none registered; `edgelat model train` trains them\)$/m);
    // A first run replaces nothing (a trial: "replacing the previous run"); the next one does.
    expect([demo.stderr.includes('publishing the run'), demo.stderr.includes('replacing the previous run')]).toEqual([true, false]);
    const list = suggestions(demo.stdout);
    expect(list.map((a) => a[0])).toEqual(['sql', 'sql', 'recommend', 'gate']);
    // Pasted as shown, each reads this run's folder (the helper sets EDGELAT_DATA_DIR; a trial's paste read ./.edgelat).
    const tried = demo.stdout.slice(demo.stdout.indexOf('\ntry:')).split('\n').slice(1).filter((l) => l.startsWith('  '));
    expect(tried.length).toBe(4);
    for (const l of tried) expect(l.startsWith(`  EDGELAT_DATA_DIR=${dataDir} npx edgelat `), l).toBe(true);
    expect(demo.stdout).toContain('\ntry: (with the settings of this run)\n');
    await runSuggestions(list, dataDir);
    // What the suggestion would have met.
    const predict = await edgelat(['predict', '--model', 'resnet50', '--chip', 'rk3588-mali-g610'], dataDir);
    expect([predict.code, errLines(predict.stderr)]).toEqual([1, ['edgelat: no champion model of kind total_ms_p50: run `edgelat demo` or `edgelat model train` first']]);
    // Trained, then the demo again with --no-models: the registry is kept (a trial: wiped, predict failed), and predict is offered.
    const train = await edgelat(['model', 'train'], dataDir);
    expect(train.code, train.stderr).toBe(0);
    const again = await edgelat(['demo', '--servers', '1', '--duration', '1', '--seed', '3', '--no-models'], dataDir);
    expect(again.code, again.stderr).toBe(0);
    expect([again.stderr.includes('publishing the run'), again.stderr.includes('replacing the previous run')]).toEqual([false, true]);
    expect(again.stdout).toMatch(/^latency models: skipped \(--no-models: the [1-9]\d* registered versions kept, trained on the data before this run; `edgelat model train` trains them\)$/m);
    expect(suggestions(again.stdout).map((a) => a[0])).toEqual(['sql', 'sql', 'predict', 'recommend', 'gate']);
    const kept = await edgelat(['predict', '--model', 'resnet50', '--chip', 'rk3588-mali-g610', '--json'], dataDir);
    expect(kept.code, kept.stderr).toBe(0);
  });
});
