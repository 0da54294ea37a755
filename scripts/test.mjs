#!/usr/bin/env node
/**
 * `npm test`: the whole suite as three vitest runs side by side: the unit files (TEST_MODE=unit: one fork, no broker,
 * ~95 s of CPU) at the lowest CPU priority (nice 19); the integration and end-to-end files that mostly wait
 * (TEST_MODE=waiting: one fork; the list is vitest.config.ts's); the other integration and end-to-end files
 * (TEST_MODE=integration,e2e: two forks).
 *
 * Why: vitest runs a single-fork project after the files of every other project (its forks pool runs them last), so the
 * unit files ran alone at the end of the suite on one core (~90 s of 690 s here), while the two forks of the other files
 * leave about a fifth of the machine idle as they wait on brokers, session timeouts and child processes. Beside them at
 * a lower priority, the unit files take that idle time and yield the rest; the files that wait (group joins, session
 * timeouts, a stalled broker) wait beside the others instead of holding one of their two forks.
 *
 * The integration and end-to-end run prints as it goes; the two others' output is held and printed whole when each
 * ends (reporters' lines interleaved could not be read). Exit status: 0 when every run passed, else the first non-zero
 * status (1 for a run ended by a signal). With arguments (`npm test -- test/unit/x.test.ts`) or TEST_MODE set, it is
 * `vitest run` with them, as before.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const vitest = createRequire(import.meta.url).resolve('vitest/vitest.mjs');
const args = process.argv.slice(2);

/**
 * Niceness of the unit run: the lowest priority, so that it runs in the other forks' idle time (whole suite on the
 * 2-core machine: 690 s as one run, 665 s beside them at nice 10, whose share slowed the end-to-end files, 624 s at 19;
 * the unit run ended after 310–340 s either way, its timing tests passing).
 */
const UNIT_NICENESS = 19;

/** The run's exit status: its code, or 1 when a signal ended it. */
const ended = (child) => new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

/**
 * SIGTERM (a CI job's time-out) is passed on to the runs. Ctrl-C reaches them from the terminal already (one process
 * group): passed on again it would be vitest's second Ctrl-C, which ends a run without its report.
 */
function passSignalsTo(children) {
  process.on('SIGTERM', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  process.on('SIGINT', () => undefined);
}

if (args.length > 0 || process.env.TEST_MODE) {
  const only = spawn(process.execPath, [vitest, 'run', ...args], { stdio: 'inherit' });
  passSignalsTo([only]);
  process.exit(await ended(only));
}

// `nice` is in coreutils; where it is missing the unit run goes at the same priority.
const haveNice = spawnSync('nice', ['true']).status === 0;

/**
 * Start a vitest run of the files of `mode` (vitest.config.ts), its output held unless `live`.
 * @returns the child, and a promise of its exit status that prints the held output whole first.
 */
function start(mode, { niceness = 0, live = false, args: extra = [] } = {}) {
  const argv = [process.execPath, vitest, 'run', ...extra];
  const [command, ...rest] = niceness > 0 && haveNice ? ['nice', '-n', String(niceness), ...argv] : argv;
  const child = spawn(command, rest, { env: { ...process.env, TEST_MODE: mode }, stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  const held = [];
  if (!live) {
    child.stdout.on('data', (d) => held.push(d));
    child.stderr.on('data', (d) => held.push(d));
  }
  const done = ended(child).then((code) => {
    if (live) return code;
    process.stdout.write(`\n──── TEST_MODE=${mode}${niceness > 0 && haveNice ? ` (nice ${niceness})` : ''}: ${code === 0 ? 'passed' : `FAILED, exit ${code}`} ────\n`);
    for (const chunk of held) process.stdout.write(chunk);
    process.stdout.write(`──── end of TEST_MODE=${mode} ────\n\n`);
    return code;
  });
  return { mode, child, done };
}

const runs = [
  start('unit', { niceness: UNIT_NICENESS }),
  // One fork: these files wait far more than they compute, and a second would only add a chdb engine.
  start('waiting', { args: ['--maxWorkers=1', '--minWorkers=1'] }),
  start('integration,e2e', { live: true }),
];
passSignalsTo(runs.map((r) => r.child));
const codes = await Promise.all(runs.map((r) => r.done));
process.stdout.write(`\nnpm test: ${runs.map((r, k) => `TEST_MODE=${r.mode} ${codes[k] === 0 ? 'passed' : `FAILED (exit ${codes[k]})`}`).join('; ')}\n`);
process.exit(codes.find((c) => c !== 0) ?? 0);
