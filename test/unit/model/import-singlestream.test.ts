/**
 * SingleStream p50/p90 files (the priors of the telemetry latency model): what `import benchmark --format singlestream`
 * reads, and every bad line named (a trial: with no way to import priors but the demo, retraining on one's own
 * warehouse could never start).
 */
import { describe, expect, it } from 'vitest';
import { parseSingleStream } from '../../../services/model/import-singlestream.ts';

const HEAD = 'model,chip,system,mlperf_version,division,submitter,system_id,p50_ms,p90_ms,mean_ms';

describe('parseSingleStream', () => {
  it('reads two rows per run, keyed by the MLPerf system key, and names each bad line with its field', () => {
    const text = [
      HEAD,
      'resnet50,jetson-agx-orin,"NVIDIA Orin (TensorRT, MaxQ)",v2.0,closed,NVIDIA,Orin_TRT,1.5,1.75,1.6',
      'resnet50,rpi4,Pi,v1.1,open,X,pi,300,290,0', // p50 above p90
      'resnet50,,Pi,v1.1,open,X,pi,3,4,0', // no chip
      'bert-99,rpi4,Pi,v1.1,open,X,pi,0x10,40,0', // not a decimal
      'bert-99,rpi4,Pi,v1.1,open,X,pi,0.0000001,40,0', // below 1 µs
      'bert-99,rpi4,Pi,v1.1,open,X',
      'bert-99,,Pi,v1.1,open,X,pi,abc,-1,0', // three bad fields: each named (a re-test: only the first)
      '',
    ].join('\n');
    const { rows, problems } = parseSingleStream([{ file: 's.csv', text }]);
    const system = 'v2.0/closed/NVIDIA/Orin_TRT';
    expect(rows).toEqual([0.5, 0.9].map((percentile) => ({
      model_id: 'resnet50', device: `${system}/jetson-agx-orin`, chip: 'jetson-agx-orin', batch: 1, scenario: 'SingleStream', percentile, latency_ms: percentile === 0.5 ? 1.5 : 1.75, system,
    })));
    expect(problems.map((p) => [p.line, p.field, p.value])).toEqual([[3, 'p50_ms', '300'], [4, 'chip', ''], [5, 'p50_ms', '0x10'], [6, 'p50_ms', '0.0000001'], [7, '(row)', 'bert-99,rpi4,Pi,v1.1,open,X'],
      [8, 'chip', ''], [8, 'p50_ms', 'abc'], [8, 'p90_ms', '-1']]);
    expect(problems[0]!.message).toBe('p50 300 ms is above p90 290 ms: a median cannot exceed the 90th percentile (columns swapped?)');
    expect(problems[3]!.message).toMatch(/below 1 µs/);
  });

  it('spells ids as the telemetry does, keeps one system\'s chips apart, and refuses ids with characters that do not show (a re-test)', () => {
    const text = [
      HEAD,
      'ResNet50,Jetson AGX Orin,x,v3.0,closed,S,board,2,3,2', // names, not ids: resnet50 on jetson-agx-orin
      'bert-99.9,rpi4-cortex-a72,x,v3.0,closed,S,board,200,300,2', // an id is kept; -99.9 is -99, as MLPerf imports read it
      'bert-99.9,rockchip-rk3588-npu,x,v3.0,closed,S,board,20,30,2', // the same system on another of its chips
      'resnet50,c\u200b,x,v3.0,closed,S,board,2,3,2',
    ].join('\n');
    const { rows, problems } = parseSingleStream([{ file: 'n.csv', text }]);
    expect(rows.filter((r) => r.percentile === 0.5).map((r) => [r.model_id, r.chip, r.device])).toEqual([
      ['resnet50', 'jetson-agx-orin', 'v3.0/closed/S/board/jetson-agx-orin'],
      ['bert-99', 'rpi4-cortex-a72', 'v3.0/closed/S/board/rpi4-cortex-a72'],
      ['bert-99', 'rockchip-rk3588-npu', 'v3.0/closed/S/board/rockchip-rk3588-npu'],
    ]);
    expect(problems.map((p) => [p.line, p.field])).toEqual([[5, 'chip']]);
  });

  it('refuses a file that is not one: empty, or a header without the columns, naming them', () => {
    expect(() => parseSingleStream([{ file: 'e.csv', text: '' }])).toThrow('e.csv: empty file');
    // A byte-order mark alone too (a trial: "the header has no model, chip, … columns").
    expect(() => parseSingleStream([{ file: 'b.csv', text: '\uFEFF' }])).toThrow('b.csv: empty file (expected a header with model, chip,');
    expect(() => parseSingleStream([{ file: 'r.csv', text: 'mlperf_version,division,model,p90_latency_ms\nv1.0,closed,resnet50,3\n' }]))
      .toThrow('r.csv: the header has no chip, submitter, system_id, p50_ms, p90_ms columns');
    // A byte-order mark before the header is read past.
    expect(parseSingleStream([{ file: 'b.csv', text: `\uFEFF${HEAD}\nm,c,s,v1.0,closed,X,id,1,2,1\n` }]).rows).toHaveLength(2);
  });

  it('refuses a line with more cells than the header and a column named twice, and keeps the first run of a device and model (a trial: "1,234" read as p50 1 and p90 234; the last of two runs silently won)', () => {
    const head = 'model,chip,mlperf_version,division,submitter,system_id,p50_ms,p90_ms';
    const text = [
      head,
      'resnet50,jetson-agx-orin,v4.1,closed,Acme,orin-x,1,234,1,500', // a thousands separator: 10 cells
      'ssd-mobilenet,jetson-agx-orin,v5.0,closed,Dup,sysQ,1,2',
      'ssd-mobilenet,jetson-agx-orin,v5.0,closed,Dup,sysQ,1,2', // the same run again: skipped
      'ssd-mobilenet,jetson-agx-orin,v5.0,closed,Dup,sysQ,10,20', // another run of it: a bad line, the first kept
      'bert-99,jetson-agx-orin,v5.0,closed,Dup,sysQ,5,6',
      'bert-99.9,jetson-agx-orin,v5.0,closed,Dup,sysQ,7,8', // another accuracy target of it: skipped
      'BERT-99,jetson-agx-orin,v5.0,closed,Dup,sysQ,5,6', // the same model in capitals, the same latencies: a repeat
      'Bert-99,jetson-agx-orin,v5.0,closed,Dup,sysQ,50,60', // ... with other latencies: a bad line (a re-test: skipped as another target)
      'resnet,jetson-agx-orin,v5.0,closed,Dup,sysQ,3,4', // a first round's short name of resnet50
      'ResNet50,jetson-agx-orin,v5.0,closed,Dup,sysQ,30,40', // the same model: a bad line
    ].join('\n');
    const { rows, problems, skipped } = parseSingleStream([{ file: 't.csv', text }]);
    expect(rows.map((r) => [r.model_id, r.percentile, r.latency_ms])).toEqual([['ssd-mobilenet', 0.5, 1], ['ssd-mobilenet', 0.9, 2], ['bert-99', 0.5, 5], ['bert-99', 0.9, 6], ['resnet50', 0.5, 3], ['resnet50', 0.9, 4]]);
    expect(problems.map((p) => [p.line, p.field, p.message])).toEqual([
      [2, '(row)', 'expected 8 cells, got 10 (a number with a thousands separator? write 1234, or quote the cell)'],
      [5, '(row)', 'a second run of ssd-mobilenet on v5.0/closed/Dup/sysQ/jetson-agx-orin with p50 10 ms, p90 20 ms; t.csv line 3 has p50 1 ms, p90 2 ms (that one is imported)'],
      [9, '(row)', 'a second run of bert-99 on v5.0/closed/Dup/sysQ/jetson-agx-orin with p50 50 ms, p90 60 ms; t.csv line 6 has p50 5 ms, p90 6 ms (that one is imported)'],
      [11, '(row)', 'a second run of resnet50 on v5.0/closed/Dup/sysQ/jetson-agx-orin with p50 30 ms, p90 40 ms; t.csv line 10 has p50 3 ms, p90 4 ms (that one is imported)'],
    ]);
    expect(skipped).toEqual([
      { reason: 'a repeat of a run already imported for this system and chip (same model, same latencies)', count: 2 },
      { reason: 'another accuracy target (-99 / -99.9) of a model already imported for this system and chip', count: 1 },
    ]);
    // The same file twice: every run of the second is a repeat.
    const again = parseSingleStream([{ file: 'a.csv', text: `${head}\nm,c,v1.0,closed,X,id,1,2\n` }, { file: 'b.csv', text: `${head}\nm,c,v1.0,closed,X,id,1,2\n` }]);
    expect([again.rows.length, again.problems, again.skipped.map((k) => k.count)]).toEqual([2, [], [1]]);
    expect(() => parseSingleStream([{ file: 'd.csv', text: `${head},p90_ms\nm,c,v1.0,closed,X,id,1,2,2000\n` }])).toThrow('d.csv: the header names "p90_ms" twice; give each column once');
    // A column the import does not read, too (a trial: source_file twice imported).
    expect(() => parseSingleStream([{ file: 'd.csv', text: `${head},note,note\nm,c,v1.0,closed,X,id,1,2,a,b\n` }])).toThrow('d.csv: the header names "note" twice; give each column once');
  });

  it('reads rounds and chips as the MLPerf import does: an unreadable round and a placeholder chip are bad lines (a re-test: v1.1-final escaped the workload rule, and chips -, N/A, TBD were ranked)', () => {
    const text = [HEAD,
      '3d-unet-99,nvidia-t4,T,v1.1-final,closed,X,t4,150,158,150', 'resnet50,jetson-agx-orin,O,2023,closed,X,o,1,2,1',
      'resnet50,-,P,v3.0,closed,X,p,1,2,1', 'resnet50,N/A,Q,v3.0,closed,X,q,1,2,1', 'resnet50,TBD,R,v3.0,closed,X,r,1,2,1',
      'resnet50,jetson-agx-orin,O,3.0,closed,X,o,1,2,1'].join('\n');
    const { rows, problems } = parseSingleStream([{ file: 's.csv', text }]);
    expect(problems.map((p) => [p.line, p.field, p.value, p.message])).toEqual([
      [2, 'mlperf_version', 'v1.1-final', 'expected a round as vX.Y or X.Y (v4.1, 3.0), got "v1.1-final"'],
      [3, 'mlperf_version', '2023', 'expected a round as vX.Y or X.Y (v4.1, 3.0), got "2023"'],
      [4, 'chip', '-', 'expected a chip name, got the placeholder "-"'],
      [5, 'chip', 'N/A', 'expected a chip name, got the placeholder "N/A"'],
      [6, 'chip', 'TBD', 'expected a chip name, got the placeholder "TBD"'],
    ]);
    // 3.0 is read as v3.0, as the MLPerf import keys it.
    expect(rows.map((r) => r.system)).toEqual(['v3.0/closed/X/o', 'v3.0/closed/X/o']);
  });
});
