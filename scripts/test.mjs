#!/usr/bin/env node
/**
 * `npm test`: the whole suite as two vitest runs side by side, the unit files (TEST_MODE=unit: one fork, no broker,
 * ~95 s of CPU) beside the integration and end-to-end files (two forks), the unit run at the lowest CPU priority (nice 19).
 *
 * Why: vitest runs a single-fork project after the files of every other project (its forks pool runs them last), so the
 * unit files ran alone at the end of the suite on one core (~90 s of 690 s here), while the two forks of the other files
 * leave about a fifth of the machine idle as they wait on brokers, session timeouts and child processes. Beside them at
 * a lower priority, the unit files take that idle time and yield the rest.
 *
 * The integration and end-to-end run prints as it goes; the unit run's output is held and printed whole when it ends
 * (two reporters' lines interleaved could not be read). Exit status: 0 when both runs passed, else the first non-zero
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
const unitCommand = haveNice ? ['nice', ['-n', String(UNIT_NICENESS), process.execPath, vitest, 'run']] : [process.execPath, [vitest, 'run']];

const unit = spawn(unitCommand[0], unitCommand[1], { env: { ...process.env, TEST_MODE: 'unit' }, stdio: ['ignore', 'pipe', 'pipe'] });
const held = [];
unit.stdout.on('data', (d) => held.push(d));
unit.stderr.on('data', (d) => held.push(d));
const rest = spawn(process.execPath, [vitest, 'run'], { env: { ...process.env, TEST_MODE: 'integration,e2e' }, stdio: 'inherit' });

passSignalsTo([unit, rest]);

const unitDone = ended(unit).then((code) => {
  process.stdout.write(`\n──── unit files (TEST_MODE=unit${haveNice ? `, nice ${UNIT_NICENESS}` : ''}): ${code === 0 ? 'passed' : `FAILED, exit ${code}`} ────\n`);
  for (const chunk of held) process.stdout.write(chunk);
  process.stdout.write(`──── end of the unit files ────\n\n`);
  return code;
});
const [unitCode, restCode] = await Promise.all([unitDone, ended(rest)]);
process.stdout.write(`\nnpm test: unit files ${unitCode === 0 ? 'passed' : `FAILED (exit ${unitCode})`}; integration and end-to-end files ${restCode === 0 ? 'passed' : `FAILED (exit ${restCode})`}\n`);
process.exit(unitCode !== 0 ? unitCode : restCode);
