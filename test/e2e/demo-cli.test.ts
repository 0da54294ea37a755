/**
 * `edgelat demo` flags, run as processes on isolated EDGELAT_DATA_DIRs: a
 * typed --shadows above --servers is bad usage (the default 3 is capped at a
 * smaller fleet).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat, errLines } from '../helpers/edgelat-cli.ts';
import { flagGiven } from '../../services/cli/demo.ts';

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

  it('flagGiven tells a typed --shadows from commander\'s default', () => {
    expect([
      flagGiven('--shadows', ['demo', '--shadows', '3']), flagGiven('--shadows', ['demo', '--shadows=3']),
      flagGiven('--shadows', ['demo', '--servers', '2']), flagGiven('--shadows', ['demo', '--shadows-x', '1']), flagGiven('--shadows', ['demo', '--', '--shadows']),
    ]).toEqual([true, true, false, false, false]);
  });
});
