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
      '',
    ].join('\n');
    const { rows, problems } = parseSingleStream([{ file: 's.csv', text }]);
    const system = 'v2.0/closed/NVIDIA/Orin_TRT';
    expect(rows).toEqual([0.5, 0.9].map((percentile) => ({
      model_id: 'resnet50', device: `${system}/jetson-agx-orin`, chip: 'jetson-agx-orin', batch: 1, scenario: 'SingleStream', percentile, latency_ms: percentile === 0.5 ? 1.5 : 1.75, system,
    })));
    expect(problems.map((p) => [p.line, p.field, p.value])).toEqual([[3, 'p50_ms', '300'], [4, 'chip', ''], [5, 'p50_ms', '0x10'], [6, 'p50_ms', '0.0000001'], [7, '(row)', 'bert-99,rpi4,Pi,v1.1,open,X']]);
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
    expect(() => parseSingleStream([{ file: 'r.csv', text: 'mlperf_version,division,model,p90_latency_ms\nv1,closed,resnet50,3\n' }]))
      .toThrow('r.csv: the header has no chip, submitter, system_id, p50_ms, p90_ms columns');
    // A byte-order mark before the header is read past.
    expect(parseSingleStream([{ file: 'b.csv', text: `\uFEFF${HEAD}\nm,c,s,v1,closed,X,id,1,2,1\n` }]).rows).toHaveLength(2);
  });
});
