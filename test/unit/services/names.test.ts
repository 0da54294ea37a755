import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { byCodeUnits, idsNamed, listedName, nearestNames, printable, quoteName, shellWord, shortArgument, shortQuoted, lookAlike, similarNames, terminalSafeStream, typoNames } from '../../../services/names.ts';
import { formatChange } from '../../../services/cli/alerts.ts';

describe('similarNames', () => {
  const commands = ['demo', 'sql', 'migrate', 'serve', 'simulate', 'pipeline', 'import', 'model', 'predict', 'profile', 'recommend', 'chips', 'report', 'alerts', 'whatif', 'gate'];
  it('names the commands alike only: within a third of the word in edits, rounded (at least 1), or holding it; closest first', () => {
    expect(similarNames('gatee', commands)).toEqual(['gate']);
    expect(similarNames('GATE', commands)).toEqual(['gate']);
    // "sim" is held by simulate; "pro" starts profile and is held by none other; edits of 1 for a 3-letter word.
    expect(similarNames('sim', commands)).toEqual(['simulate']);
    expect(similarNames('modle', commands)).toEqual(['model']);
    expect(similarNames('bogus', commands)).toEqual([]);
    // A 3-letter word: one edit (sqk → sql), not two.
    expect([similarNames('sqk', commands), similarNames('sxx', commands)]).toEqual([['sql'], []]);
  });
});

describe('typoNames', () => {
  const chips = ['rpi4-cortex-a72', 'jetson-xavier-nx', 'jetson-agx-orin', 'nvidia-t4', 'hailo-8'];
  it('names the chips a new id could be a typo of: 2 edits and a fifth of its length at most, or the same but for case and separators', () => {
    expect(typoNames('rpi4-cortex-a27', chips)).toEqual(['rpi4-cortex-a72']); // 2 edits of 15 characters
    expect(typoNames('jetson-orin-nx', chips)).toEqual([]); // a new board, 5 edits away
    expect(typoNames('nvidia-t-4', chips)).toEqual(['nvidia-t4']);
    expect(typoNames('JETSON.AGX.ORIN', chips)).toEqual(['jetson-agx-orin']); // 3 edits, the same but for case and separators
    expect([typoNames('hailo-9', chips), typoNames('hailo8', chips), typoNames('hailo-8', chips)]).toEqual([['hailo-8'], ['hailo-8'], []]);
    expect(typoNames('nvidia-a2', chips)).toEqual([]); // 9 characters: 1 edit at most, and t4 → a2 is 2
  });
});

describe('nearestNames', () => {
  const chips = ['rk3588-mali-g610', 'jetson-xavier-nx', 'jetson-agx-orin', 'rpi4-cortex-a72', 'qualcomm-ai100'];

  it('lists the closest first by edit distance, case-insensitive, and counts the rest', () => {
    // Distances from "jetson-orin": jetson-agx-orin 4 (insert "agx-"), jetson-xavier-nx 7, the others more.
    expect(nearestNames('jetson-orin', chips, 2)).toBe('jetson-agx-orin, jetson-xavier-nx, … 3 more');
    expect(nearestNames('JETSON-AGX-ORIN', chips, 1)).toBe('jetson-agx-orin, … 4 more');
  });

  it('lists names that start with the given text first, then those that hold it (a trial: rk3588 listed my-npu first)', () => {
    // Edit distances from "rk3588": my-npu 6, rk3588-mali-g610 10; yet the id it begins is the one meant.
    expect(nearestNames('rk3588', ['my-npu', ...chips], 2)).toBe('rk3588-mali-g610, my-npu, … 4 more');
    expect(nearestNames('orin', ['my-npu', ...chips], 2)).toBe('jetson-agx-orin, my-npu, … 4 more');
    expect(nearestNames('RPI4', chips, 1)).toBe('rpi4-cortex-a72, … 4 more');
  });

  it('reads a short id as the start of a long one when that start is a few edits from it (a trial: raspi4 listed hailo-8 first)', () => {
    // "raspi4" to hailo-8: 5 edits, apple-m1 5; to rpi4-cortex-a72 10, but to its start "rpi4" 2 (delete a, s), within 6 / 3.
    const catalog = ['hailo-8', 'apple-m1', 'coral-tpu', 'nvidia-l4', ...chips];
    expect(nearestNames('raspi4', catalog, 2)).toBe('rpi4-cortex-a72, hailo-8, … 7 more');
    // A start further off than a third of the given text is not read so: "zzzpi4" is 3 from "rpi4" (limit 2).
    expect(nearestNames('zzzpi4', catalog, 1)).not.toMatch(/^rpi4/);
  });

  it('idsNamed: the ids whose other names hold the given text, compared without case, blanks or punctuation (3 or more letters or digits)', () => {
    const catalog = [
      { id: 'rpi4-cortex-a72', names: ['BCM2711 4x Cortex-A72 (Raspberry Pi 4)', 'arm-cortex-a72x4'] },
      { id: 'jetson-agx-orin', names: ['Jetson AGX Orin 64GB'] },
      { id: 'apple-m1', names: [] },
    ];
    expect([idsNamed('Raspberry Pi 4', catalog), idsNamed('raspberrypi4', catalog), idsNamed('raspberry-pi-4', catalog)]).toEqual([['rpi4-cortex-a72'], ['rpi4-cortex-a72'], ['rpi4-cortex-a72']]);
    expect(idsNamed('jetson agx orin 64gb', catalog)).toEqual(['jetson-agx-orin']);
    // Too short to tell (a4 is in "a72x4"), or held by none.
    expect([idsNamed('a4', catalog), idsNamed('xavier', catalog)]).toEqual([[], []]);
  });

  it('lists every name when they fit, ties in the given order', () => {
    expect(nearestNames('x', ['ab', 'cd'], 8)).toBe('ab, cd');
    expect(nearestNames('', [], 3)).toBe('');
  });

  it('quotes a name that would break the message: a newline, a comma, a quote, a bidirectional mark (a re-test: a newline cut the list)', () => {
    // The name that begins with the given text first.
    expect(nearestNames('model|x', ['model|x\nnewline', 'mob', 'a,b'])).toBe('"model|x\\nnewline", mob, "a,b"');
    expect([listedName('edge-01'), listedName('edge\u202e01')]).toEqual(['edge-01', '"edge\\u202e01"']);
    expect(quoteName('nope\u202e')).toBe('"nope\\u202e"');
  });

  it('alerts tail prints ids from the data escaped, one change a line', () => {
    const line = formatChange({ window_end: '2024-06-01 10:05:00.000', state: 'firing', previous_state: 'rising', edge_server_id: 'edge\n01', model_id: 'm\u202ex', x_metric: 'cpu_util', y_metric: 'compute_ms',
      pearson_r: 0.5, ci_low: 0.1, ci_high: 0.8, n: 40 } as never);
    expect(line).toBe('2024-06-01 10:05:00.000  FIRING   edge\\u000a01 m\\u202ex cpu_util→compute_ms  r=0.500 [0.10, 0.80] n=40  (was rising)');
  });

  it('alerts tail prints a change whose interval has one bound null (a trial: the tail stopped with "Cannot read properties of null")', () => {
    const change = { window_end: '2024-06-01 10:05:00.000', state: 'firing', previous_state: 'rising', edge_server_id: 'edge-01', model_id: null, x_metric: 'cpu_util', y_metric: 'total_ms', pearson_r: 0.9, n: 40 };
    expect(formatChange({ ...change, ci_low: 0.8, ci_high: null } as never)).toBe('2024-06-01 10:05:00.000  FIRING   edge-01 - cpu_util→total_ms  r=0.900 [0.80, ?] n=40  (was rising)');
    expect(formatChange({ ...change, ci_low: null, ci_high: 0.95 } as never)).toBe('2024-06-01 10:05:00.000  FIRING   edge-01 - cpu_util→total_ms  r=0.900 [?, 0.95] n=40  (was rising)');
    expect(formatChange({ ...change, ci_low: null, ci_high: null } as never)).toBe('2024-06-01 10:05:00.000  FIRING   edge-01 - cpu_util→total_ms  r=0.900 n=40  (was rising)');
  });

  it('alerts tail says a resolve by silence is one (a re-test: "r undefined n=0" read like thin traffic)', () => {
    const change = { window_end: '2024-06-01 10:13:00.000', state: 'resolved', previous_state: 'firing', edge_server_id: 'edge-01', model_id: 'm1', x_metric: 'cpu_util', y_metric: 'total_ms', pearson_r: null, ci_low: null, ci_high: null, n: 0 };
    expect(formatChange({ ...change, null_reason: 'no_rows' } as never)).toBe('2024-06-01 10:13:00.000  RESOLVED edge-01 m1 cpu_util→total_ms  no requests in the window (went quiet) n=0  (was firing)');
    expect(formatChange({ ...change, n: 2, null_reason: 'n_lt_3' } as never)).toBe('2024-06-01 10:13:00.000  RESOLVED edge-01 m1 cpu_util→total_ms  r undefined n=2  (was firing)');
  });
});

describe('shellWord', () => {
  it('leaves a plain id as it is and single-quotes anything a shell would split or expand (a trial: --chips weird chip😀)', () => {
    expect(['jetson-agx-orin', 'help-fbnet:arch_7', 'a/b.c@1%+=,'].map(shellWord)).toEqual(['jetson-agx-orin', 'help-fbnet:arch_7', 'a/b.c@1%+=,']);
    expect(['weird chip😀', "it's", '$HOME', '', 'a;b'].map(shellWord)).toEqual(["'weird chip😀'", "'it'\\''s'", "'$HOME'", "''", "'a;b'"]);
  });

  it('reads back as the word itself in a POSIX shell', () => {
    for (const word of ['weird chip😀', "it's", '$HOME `x`', 'tab\there', "''"]) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellWord(word)}`], { encoding: 'utf8' })).toBe(word);
    }
  });
});

describe('shortArgument (a trial: a 100,000-character --server echoed whole in commander\'s error)', () => {
  it('cuts the quoted value past 80 characters and gives its length; leaves a short one and other text', () => {
    const long = 'a'.repeat(1000);
    expect(shortArgument(`edgelat: option '--server <id>' argument '${long}' is invalid. --server must be at most 256 characters, got 1000\n`))
      .toBe(`edgelat: option '--server <id>' argument '${'a'.repeat(80)}…' (1000 characters) is invalid. --server must be at most 256 characters, got 1000\n`);
    const short = "edgelat: option '--rps <n>' argument 'x' is invalid. --rps: expected a number\n";
    expect(shortArgument(short)).toBe(short);
    expect(shortArgument(`edgelat: unknown option '${long}'\n`)).toBe(`edgelat: unknown option '${long}'\n`);
    // Characters, not UTF-16 units: an astral character is not split.
    expect(shortArgument(`argument '${'😀'.repeat(81)}' is invalid.`)).toBe(`argument '${'😀'.repeat(80)}…' (81 characters) is invalid.`);
  });
});

describe('lookAlike (a trial: --model "bеrt-99" with a Cyrillic е listed bert-99 as nearest, the two reading alike)', () => {
  it('names the first character outside ASCII where the given name differs from a known one only in such characters', () => {
    expect(lookAlike('b\u0435rt-99', ['resnet50', 'bert-99'])).toBe('"b\u0435rt-99" has U+0435 at character 2 where bert-99 has "e"');
    expect(nearestNames('b\u0435rt-99', ['bert-99', 'resnet50'])).toBe('bert-99, resnet50; "b\u0435rt-99" has U+0435 at character 2 where bert-99 has "e"');
    // Astral characters count as one; other lengths, an ASCII name, or a difference in ASCII too: nothing said.
    expect(lookAlike('edge-\u{1D7CE}4', ['edge-04'])).toBe('"edge-\u{1D7CE}4" has U+1D7CE at character 6 where edge-04 has "0"');
    expect([lookAlike('bert-99', ['bert-98']), lookAlike('b\u0435rt-9', ['bert-99']), lookAlike('b\u0435rt-98', ['bert-99'])]).toEqual([null, null, null]);
  });
});

describe('shortQuoted (a trial: a 5,000-digit --slo-p99-ms quoted whole by its range check)', () => {
  it('cuts each JSON-quoted value of more than 256 characters to its first 80 and its length; leaves shorter ones and the rest', () => {
    const long = '1'.repeat(5000);
    expect(shortQuoted(`--slo-p99-ms must be a number > 0, got ${JSON.stringify(long)}; see "x"`)).toBe(`--slo-p99-ms must be a number > 0, got "${'1'.repeat(80)}…" (5000 characters); see "x"`);
    const id = 'a'.repeat(256);
    expect(shortQuoted(`unknown model ${JSON.stringify(id)}`)).toBe(`unknown model ${JSON.stringify(id)}`);
    // Escapes read as the characters they stand for: 300 tabs are 300 characters, cut to 80 written as \t.
    expect(shortQuoted(`got ${JSON.stringify('\t'.repeat(300))}`)).toBe(`got "${'\\t'.repeat(80)}…" (300 characters)`);
  });
});

describe('byCodeUnits', () => {
  it('orders by UTF-16 code units, whatever the locale (a trial: LANG=da_DK ranked zz-npu before aa-npu with localeCompare)', () => {
    expect(['b', 'a_b', 'a1', 'A', 'å', 'aa-npu', 'zz-npu'].sort(byCodeUnits)).toEqual(['A', 'a1', 'a_b', 'aa-npu', 'b', 'zz-npu', 'å']);
    const script = `import { byCodeUnits } from './services/names.ts';
      const ids = ['zz-npu', 'aa-npu'];
      console.log(JSON.stringify([[...ids].sort((a, b) => a.localeCompare(b)), [...ids].sort(byCodeUnits)]));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, LANG: 'da_DK.UTF-8', LC_ALL: 'da_DK.UTF-8' }, encoding: 'utf8' });
    // Danish collation puts "aa" (å) after "z": the locale took effect in the child, and byCodeUnits ignored it.
    expect(JSON.parse(out)).toEqual([['zz-npu', 'aa-npu'], ['aa-npu', 'zz-npu']]);
  });
});

describe('printable', () => {
  it('escapes what reorders a line and what does not show, and leaves other text as it is (a re-test: chips import quoted "npu<U+200B>" raw)', () => {
    expect(printable('npu\u200b')).toBe('npu\\u200b');
    expect(printable('a\u202eb\nc\u0000')).toBe('a\\u202eb\\u000ac\\u0000');
    expect(printable('Jetson AGX Orin 64GB × 2 ≤ 5 ms é')).toBe('Jetson AGX Orin 64GB × 2 ≤ 5 ms é');
  });
});

describe('terminalSafeStream (edgelat sql on a terminal: a security trial\'s char(27) in a value retitled and coloured it)', () => {
  it('escapes C0 and C1 controls but the line break and the tab, across chunks that split a character', () => {
    const euro = Buffer.from('€'); // 3 bytes
    const csi = Buffer.from('\u009b'); // C1 CSI, 2 bytes
    const chunks = [Buffer.from('a\u001b[31m'), euro.subarray(0, 1), Buffer.concat([euro.subarray(1), csi.subarray(0, 1)]), Buffer.concat([csi.subarray(1), Buffer.from('\t1\u0007\n')])];
    const s = terminalSafeStream();
    expect(chunks.map((c) => s.write(c)).join('') + s.end()).toBe('a\\u001b[31m€\\u009b\t1\\u0007\n');
    // A character cut at the stream's end is written as the replacement character, not held back.
    const cut = terminalSafeStream();
    expect(cut.write(euro.subarray(0, 2)) + cut.end()).toBe('\ufffd');
  });
});
