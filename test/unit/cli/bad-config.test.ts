/**
 * A bad EDGELAT_* value stops every command with one line naming it (README,
 * Configuration), also the commands that read none of the environment:
 * `profile`, `gate --backtest` and `model evaluate --format mlperf` ran on
 * and exited 0 with EDGELAT_PARTITIONS=abc (a breaker trial).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { edgelat, errLines } from '../../helpers/edgelat-cli.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-bad-config-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const root = new URL('../../..', import.meta.url).pathname;
const LINE = 'edgelat: bad configuration: EDGELAT_PARTITIONS="abc": must be a whole number in decimal digits, 1 to 1024';

describe('a bad environment variable', () => {
  it.each([
    [['profile', 'test/fixtures/onnx/tiny-cnn.onnx'], 1],
    [['gate', '--backtest', '--seed', '1', '--json'], 70],
    [['model', 'evaluate', '--format', 'mlperf', '--runs', 'none.csv', '--systems', 'none.csv'], 1],
    [['sql', 'SELECT 1'], 1],
  ] as const)('stops `%j` with exit %i and one line naming it', async (args, code) => {
    const r = await edgelat([...args], dataDir, root, { EDGELAT_PARTITIONS: 'abc' });
    expect(errLines(r.stderr)).toEqual([LINE]);
    expect(r.code).toBe(code);
    // With --json the error is on stdout too, as JSON; else stdout is empty.
    expect(r.stdout).toBe((args as readonly string[]).includes('--json') ? `${JSON.stringify({ error: LINE.replace(/^edgelat: /, ''), exit_code: code })}\n` : '');
  });

  it('does not stop --help (nothing runs)', async () => {
    const r = await edgelat(['gate', '--help'], dataDir, undefined, { EDGELAT_PARTITIONS: 'abc' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: edgelat gate');
  });
});

describe('--json on a usage error', () => {
  it('prints stderr\'s text as JSON on stdout, a nested command\'s whole path too (a re-test: "unknown command \'evalute\'"), and help takes --json as --help', async () => {
    const nested = await edgelat(['model', 'evalute', '--json'], dataDir);
    expect([nested.code, JSON.parse(nested.stdout), errLines(nested.stderr)[0]]).toEqual([64, { error: "unknown command 'model evalute'\n(Did you mean evaluate?)", exit_code: 64 }, "edgelat: unknown command 'model evalute'"]);
    const args = await edgelat(['chips', 'list', 'extra', '--json'], dataDir);
    expect([args.code, JSON.parse(args.stdout)]).toEqual([2, { error: "too many arguments for 'chips list'. Expected 0 arguments but got 1.", exit_code: 2 }]);
    const help = await edgelat(['help', 'gate', '--json'], dataDir);
    expect([help.code, help.stdout.startsWith('Usage: edgelat gate')]).toEqual([0, true]);
  });
});

describe('an unknown command', () => {
  // Other commands' bad usage exits 2, which `gate` answers for NEED_SHADOW: a deploy pipeline calling a
  // mistyped `gate` must not read as one. Before, its `--version v2` was taken for edgelat's own option
  // after the unknown name: it printed 0.1.0 and exited 0, an ALLOW.
  it('exits 64 with the nearest command named, and runs nothing (also with gate\'s --version after it)', async () => {
    const r = await edgelat(['gatee', '--model', 'resnet50', '--version', 'v2', '--chip', 'jetson-agx-orin', '--slo-p99-ms', '50'], dataDir);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("edgelat: unknown command 'gatee'");
    expect(r.stderr).toContain('(Did you mean gate?)');
    expect(r.stdout).toBe('');
  });

  it('exits 64 for every usage error before a command runs (an option before it, help of an unknown command, no command, a group without its subcommand); a command\'s own stays 2', async () => {
    // A trial: `edgelat --json gate …` exited 2, which a deploy pipeline reads as NEED_SHADOW. (Run side by side.)
    // A group's option before its subcommand (`chips --bogus`, `model --bogus list`) runs no command either (a trial: exit 2);
    // `model help lst`, a group's own help command, names the word (a trial: its help alone, exit 64).
    const runs: [string[], number][] = [[['--json', 'gate', '--model', 'resnet50'], 64], [['help', 'gatee'], 64], [[], 64], [['model', 'evalute'], 64], [['alerts'], 64], [['sql', '--nope'], 2], [['help', 'gate'], 0],
      [['chips', '--bogus'], 64], [['model', '--bogus', 'list'], 64], [['model', 'list', '--bogus'], 2], [['model', 'help', 'lst'], 64], [['help', 'bogus'], 64], [['model', 'help', 'help'], 0],
      [['help', '--help'], 0], [['help', 'model', 'train', '-h'], 0], [['help', '--version'], 64], [['help', '--', 'model'], 0]];
    const results = await Promise.all(runs.map(async ([args]) => edgelat(args, dataDir)));
    expect(results.map((r) => r.code)).toEqual(runs.map(([, code]) => code));
    // `help gatee` names what it did not find before the help (it printed the whole help and nothing else).
    // The command meant, not every command as "nearest" (a trial); none alike: where the commands are listed.
    expect(results[1]!.stderr.split('\n')[0]).toBe("edgelat: help: unknown command 'gatee' (Did you mean gate?)");
    expect(results[10]!.stderr.split('\n')[0]).toBe("edgelat: help: unknown command 'model lst' (Did you mean list?)");
    expect(results[11]!.stderr.split('\n')[0]).toBe("edgelat: help: unknown command 'bogus' (none is named so: the commands follow)");
    // `help --help` is edgelat's help, `help model train -h` train's (a trial: the first printed as an error, exit 64).
    expect([results[13]!.stdout.split('\n')[0], results[13]!.stderr]).toEqual(['Usage: edgelat [options] [command]', '']);
    expect(results[14]!.stdout.split('\n')[0]).toBe('Usage: edgelat model train [options]');
    // Another option of help is said; `--` before the names is read as nothing (a re-test: the help printed as an error, no word of why).
    expect([results[15]!.stderr, results[15]!.stdout]).toEqual(["edgelat: help: unknown option '--version' (help takes command names: `edgelat help model train`; the version: `edgelat --version`)\n", '']);
    expect(results[16]!.stdout.split('\n')[0]).toBe('Usage: edgelat model [options] [command]');
  });
});

describe('a subcommand\'s usage error', () => {
  it('names its whole path (a trial: `chips import a.csv b.csv` said "too many arguments for \'import\'", read as import benchmark)', async () => {
    const [chips, list, group] = await Promise.all([edgelat(['chips', 'import', 'a.csv', 'b.csv'], dataDir), edgelat(['model', 'list', 'extra'], dataDir), edgelat(['pipeline', 'bogus'], dataDir)]);
    expect([chips.code, errLines(chips.stderr)[0]]).toEqual([2, "edgelat: too many arguments for 'chips import'. Expected 1 argument but got 2."]);
    expect([list.code, errLines(list.stderr)[0]]).toEqual([2, "edgelat: too many arguments for 'model list'. Expected 0 arguments but got 1."]);
    // A group's unknown word is named after the group (a re-test: "unknown command 'bogus'" for `pipeline bogus`).
    expect([group.code, errLines(group.stderr)[0]]).toEqual([64, "edgelat: unknown command 'pipeline bogus'"]);
  });
});

describe('chips import of a file it cannot take', () => {
  it('exits 2 naming it and creates no warehouse in a new data folder (a re-test: an empty file left an empty chdb behind)', async () => {
    const fresh = join(dataDir, 'never-made');
    const empty = join(dataDir, 'empty.csv');
    const noChip = join(dataDir, 'no-chip.csv');
    writeFileSync(empty, '\uFEFF');
    writeFileSync(noChip, 'id,kind\nx,npu\n');
    const [a, b] = await Promise.all([edgelat(['chips', 'import', empty], fresh), edgelat(['chips', 'import', noChip], fresh)]);
    expect([a.code, errLines(a.stderr)]).toEqual([2, [`edgelat: ${empty}: empty file (expected a header with a chip column: chip, kind, vendor, names, peak_ops_per_s, memory_bw_bytes_s, power_w, price_per_hour)`]]);
    expect([b.code, errLines(b.stderr)]).toEqual([2, [`edgelat: ${noChip}: the header needs a chip column, got "id,kind"`]]);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('alert policy variables with alerts tail', () => {
  it('says they are not applied: the states were decided when the windows were written (a trial: a threshold of 0.9 showed alerts firing at r = 0.54)', async () => {
    const r = await edgelat(['alerts', 'tail'], dataDir, root, { EDGELAT_ALERT_THRESHOLD: '0.9', EDGELAT_ALERT_MIN_N: '50' });
    expect(errLines(r.stderr)[0]).toBe('edgelat: EDGELAT_ALERT_MIN_N, EDGELAT_ALERT_THRESHOLD are not applied here: alerts tail prints the states the correlation processor decided when it wrote the windows (its policy then); the variables apply to the next pipeline run or demo');
  });
});
