/**
 * The profiler on recurrent, Einsum and control-flow nodes (a bad-input trial: a MatMul inside a 200-trip Loop
 * had counted 4.19 M MACs of ~843 M, with nothing listed). Expected counts are closed forms written from each
 * operator's definition in the ONNX spec; every graph's output shapes are confirmed by running it in
 * onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { profileOnnx } from '../../../services/profiler/profile.ts';
import { ortShapes } from '../../helpers/ort-shapes.ts';
import { OnnxGraphBuilder } from '../../helpers/onnx-graph.ts';

/** A Loop body: state x [1, d] ← x · W (W read from the enclosing graph), and a Relu of it as a scan output. */
function loopBody(d: number, weight: string): ReturnType<OnnxGraphBuilder['graph']> {
  const body = new OnnxGraphBuilder('body');
  body.input('i', [], 'int64');
  const cond = body.input('cond_in', [], 'bool');
  const y = body.node('MatMul', [body.input('x_in', [1, d]), weight], {}, { name: 'step' });
  body.output(body.node('Identity', [cond]), [], 'bool');
  body.output(y, [1, d]);
  body.output(body.node('Relu', [y]), [1, d]);
  return body.graph();
}

describe('profileOnnx: Loop, Scan and If', () => {
  it('counts a Loop body once per trip of a constant trip count, with outer-scope weights and scan outputs', async () => {
    const g = new OnnxGraphBuilder('loop', { inlineLimit: Infinity });
    const w = g.weight('W', [64, 64]);
    const [final, scans] = g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [200]), g.weight('c', [], 'bool', [1]), g.input('x', [1, 64])], { body: { graph: loopBody(64, w) } }, { outputs: 2, name: 'rnn' });
    g.output(final);
    g.output(g.node('MatMul', [scans!, g.weight('head', [64, 10])]));
    const bytes = g.build();
    expect(Object.values(await ortShapes(bytes, { x: [1, 64] }))).toEqual([[1, 64], [200, 1, 10]]);
    const p = profileOnnx(bytes);
    // 200 trips × (1·64·64 MatMul) + the head over [200, 1, 64] × [64, 10]; element ops: 200 × (Relu 64 + Identity 1).
    expect(p).toMatchObject({ macs: 200 * 64 * 64 + 200 * 64 * 10, element_ops: 200 * (64 + 1), params: 64 * 64 + 1 + 1 + 640, unknown_shape_nodes: [] });
    expect(p.op_histogram).toEqual({ Loop: 1, MatMul: 2, Relu: 1, Identity: 1 });
  });

  it('counts a Loop body once, and says so, when the trip count is not a constant', () => {
    const g = new OnnxGraphBuilder('loop_dynamic');
    const w = g.weight('W', [32, 32]);
    const [final] = g.nodeOutputs('Loop', [g.input('M', [], 'int64'), '', g.input('x', [1, 32])], { body: { graph: loopBody(32, w) } }, { outputs: 2, name: 'decode' });
    g.output(final);
    const p = profileOnnx(g.build());
    expect(p.macs).toBe(32 * 32);
    expect(p.unknown_shape_nodes).toEqual(['decode: trip count unknown, body counted once (a lower bound)']);
  });

  /** A Loop body: cond passed through, x ← step(x). */
  function growingBody(name: string, step: (b: OnnxGraphBuilder, x: string) => string): ReturnType<OnnxGraphBuilder['graph']> {
    const body = new OnnxGraphBuilder(name);
    body.input('i', [], 'int64');
    const cond = body.input('cond_in', [], 'bool');
    body.output(body.node('Identity', [cond], {}, { name: `${name}_cond` }), [], 'bool');
    body.output(step(body, body.input('x_in', [null, 8])), [null, 8]);
    return body.graph();
  }

  /** A Loop of m trips named `loop` over input `name` of `dims`, its body x ← step(x). */
  function growingLoopOf(m: number, name: string, dims: number[], step: (b: OnnxGraphBuilder, x: string) => string): Uint8Array {
    const g = new OnnxGraphBuilder('grow_many');
    g.output(g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [m]), '', g.input(name, dims)], { body: { graph: growingBody('body', step) } }, { outputs: 1, name: 'loop' })[0]!);
    return g.build();
  }

  /** A Loop over X [2, 8] whose body is `x ← Concat(x, x) · W` ([8, 8]; the carried value doubles each trip), then a MatMul by W. */
  function growingLoop(m: number): Uint8Array {
    const body = new OnnxGraphBuilder('grow_body');
    body.input('i', [], 'int64');
    const cond = body.input('cond_in', [], 'bool');
    body.output(body.node('Identity', [cond]), [], 'bool');
    body.output(body.node('MatMul', [body.node('Concat', [body.input('x_in', [null, 8]), 'x_in'], { axis: 0 }), 'W']), [null, 8]);
    const g = new OnnxGraphBuilder('grow', { inlineLimit: Infinity });
    g.weight('W', [8, 8]);
    const [y] = g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [m]), '', g.input('x', [2, 8])], { body: { graph: body.graph() } }, { outputs: 1 });
    g.output(g.node('MatMul', [y!, 'W']));
    return g.build();
  }

  it('follows carried shapes that change from trip to trip (a trial: the first trip was counted 3 times)', async () => {
    const bytes = growingLoop(3);
    expect(Object.values(await ortShapes(bytes, { x: [2, 8] }))).toEqual([[16, 8]]);
    // Trips on [4,8], [8,8], [16,8] after the Concat, then [16,8] × [8,8].
    expect(profileOnnx(bytes)).toMatchObject({ macs: (4 + 8 + 16) * 8 * 8 + 16 * 8 * 8, unknown_shape_nodes: [] });
    expect(profileOnnx(bytes).op_histogram).toEqual({ Loop: 1, Identity: 1, Concat: 1, MatMul: 2 });
    // M < 0 runs no trip, as onnxruntime does: only the MatMul after the Loop, on the unchanged [2, 8].
    const none = growingLoop(-1);
    expect(Object.values(await ortShapes(none, { x: [2, 8] }))).toEqual([[2, 8]]);
    expect(profileOnnx(none)).toMatchObject({ macs: 2 * 8 * 8, unknown_shape_nodes: [] });
  });

  it('lists a Loop whose scan output changes shape from trip to trip, which onnxruntime refuses (it had made the later nodes unknown, unlisted)', async () => {
    const body = new OnnxGraphBuilder('grow_scan_body');
    body.input('i', [], 'int64');
    const cond = body.input('cond_in', [], 'bool');
    body.output(body.node('Identity', [cond]), [], 'bool');
    const grown = body.node('Concat', [body.input('x_in', [null, 8]), 'x_in'], { axis: 0 });
    body.output(grown, [null, 8]);
    body.output(body.node('Relu', [grown]), [null, 8]);
    const g = new OnnxGraphBuilder('grow_scan');
    const [, scans] = g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [3]), '', g.input('x', [2, 8])], { body: { graph: body.graph() } }, { outputs: 2, name: 'loop' });
    g.output(scans!);
    const bytes = g.build();
    await expect(ortShapes(bytes, { x: [2, 8] })).rejects.toThrow(/[Ss]hape/);
    expect(profileOnnx(bytes).unknown_shape_nodes).toEqual(['loop: scan output 0 changes shape from trip to trip ([4,8] → [8,8])']);
  });

  it('stops following changing shapes after 256 trips, or when the model\'s 1,000,000 stepped body nodes are spent: listed as a lower bound', () => {
    const long = profileOnnx(growingLoopOf(300, 'x', [1, 8], (b, x) => b.node('Concat', [x, b.weight('one', [1, 8])], { axis: 0 })));
    // Trip t (1-based) concatenates onto [t, 8]: element ops Σ_{t=1..256} (t + 1)·8, then the listing.
    expect(long.unknown_shape_nodes).toEqual(['loop: carried shapes change every trip; 256 of 300 trips counted (a lower bound)']);
    expect(long.element_ops).toBe(8 * (256 * 257 / 2 + 256) + 256);
    // A 5,000-node body (Identity, Concat, 4,998 Relus): 1,000,000 / 5,000 = 200 stepped trips after the first, a few seconds of work.
    const chain = (b: OnnxGraphBuilder, x: string) => {
      let y = b.node('Concat', [x, b.weight('one', [1, 8])], { axis: 0 });
      for (let k = 0; k < 4998; k++) y = b.node('Relu', [y]);
      return y;
    };
    const spent = profileOnnx(growingLoopOf(250, 'x', [1, 8], chain));
    expect(spent.unknown_shape_nodes).toEqual(['loop: carried shapes change every trip; 201 of 250 trips counted (a lower bound: the profile\'s 1,000,000 body nodes for such trips are spent)']);
  });

  it('binds a body input named like an outer value to the Loop\'s input, as onnxruntime does (a trial: 32× too few MACs)', async () => {
    const body = new OnnxGraphBuilder('shadow_body');
    body.input('i', [], 'int64');
    body.input('cond_in', [], 'bool');
    body.output('cond_in', [], 'bool').output(body.node('MatMul', [body.input('X', [null, 8]), 'W']), [null, 8]);
    const g = new OnnxGraphBuilder('shadow', { inlineLimit: Infinity });
    g.weight('W', [8, 8]);
    g.output(g.node('Relu', [g.input('X', [2, 8])]));
    g.output(g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [3]), '', g.input('Z', [64, 8])], { body: { graph: body.graph() } }, { outputs: 1 })[0]!);
    const bytes = g.build();
    expect(Object.values(await ortShapes(bytes, { X: [2, 8], Z: [64, 8] }))).toEqual([[2, 8], [64, 8]]);
    expect(profileOnnx(bytes).macs).toBe(3 * 64 * 8 * 8);
  });

  it('names an unbounded trip count, and refuses subgraphs nested more than 64 deep (a trial: 2000 nested Ifs came out at 0 MACs)', () => {
    const g = new OnnxGraphBuilder('unbounded');
    g.output(g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [2 ** 60]), g.weight('c', [], 'bool', [1]), g.input('x', [1, 16])], { body: { graph: loopBody(16, g.weight('W', [16, 16])) } }, { outputs: 2, name: 'while' })[0]!);
    expect(profileOnnx(g.build())).toMatchObject({ macs: 16 * 16, unknown_shape_nodes: ['while: trip count 2^53 or more (unbounded: the condition ends the loop), body counted once (a lower bound)'] });
    // Each level's then-branch holds the next If; its else-branch passes x through.
    const pass = () => { const b = new OnnxGraphBuilder('pass'); b.output(b.node('Identity', ['x']), [1, 4]); return b.graph(); };
    const nested = (depth: number): Uint8Array => {
      let inner = new OnnxGraphBuilder('leaf');
      inner.output(inner.node('MatMul', ['x', 'W']), [1, 4]);
      for (let d = 1; d < depth; d++) {
        const outer = new OnnxGraphBuilder(`level${d}`);
        outer.output(outer.node('If', ['flag'], { then_branch: { graph: inner.graph() }, else_branch: { graph: pass() } }), [1, 4]);
        inner = outer;
      }
      const top = new OnnxGraphBuilder('deep');
      top.input('flag', [], 'bool');
      top.input('x', [1, 4]);
      top.weight('W', [4, 4]);
      top.output(top.node('If', ['flag'], { then_branch: { graph: inner.graph() }, else_branch: { graph: pass() } }));
      return top.build();
    };
    expect(profileOnnx(nested(64)).macs).toBe(16);
    expect(() => profileOnnx(nested(65))).toThrow('subgraphs (Loop, Scan, If bodies) nest more than 64 levels deep: not profiled');
  });

  it('lists a body node it cannot infer under its Loop', () => {
    const body = new OnnxGraphBuilder('body');
    body.input('i', [], 'int64');
    body.input('cond_in', [], 'bool');
    const y = body.node('MyOp', [body.input('x_in', [1, 8])], {}, { name: 'custom', domain: 'com.example' });
    body.output('cond_in', [], 'bool').output(y);
    const g = new OnnxGraphBuilder('loop_custom');
    g.output(g.nodeOutputs('Loop', [g.weight('M', [], 'int64', [5]), '', g.input('x', [1, 8])], { body: { graph: body.graph() } }, { outputs: 1, name: 'outer' })[0]!);
    expect(profileOnnx(g.build()).unknown_shape_nodes).toEqual(['outer/custom']);
  });

  it('lists a custom-domain node with a subgraph as not counted, and still tallies its weights and operators', () => {
    const body = new OnnxGraphBuilder('beam_body');
    body.output(body.node('MatMul', [body.input('h', [1, 8]), body.weight('Wb', [8, 8])]), [1, 8]);
    const g = new OnnxGraphBuilder('custom_subgraph');
    g.output(g.node('BeamSearch', [g.input('x', [1, 8])], { decoder: { graph: body.graph() } }, { name: 'beam', domain: 'com.example' }), [1, 8]);
    const p = profileOnnx(g.build());
    expect(p).toMatchObject({ macs: 0, params: 64, unknown_shape_nodes: ['beam: subgraph of com.example.BeamSearch not counted'] });
    expect(p.op_histogram).toEqual({ 'com.example.BeamSearch': 1, MatMul: 1 });
  });

  it('counts a Scan body once per slice along its scan axis', async () => {
    const body = new OnnxGraphBuilder('scan_body');
    const h = body.node('Tanh', [body.node('Add', [body.node('MatMul', [body.input('h_in', [1, 16]), 'R']), body.node('MatMul', [body.input('x_t', [1, 32]), 'Wx'])])]);
    body.output(h, [1, 16]).output(body.node('Identity', [h]), [1, 16]);
    const g = new OnnxGraphBuilder('scan', { inlineLimit: Infinity });
    g.weight('R', [16, 16]);
    g.weight('Wx', [32, 16]);
    const outs = g.nodeOutputs('Scan', [g.input('h0', [1, 16]), g.input('xs', [1, 12, 32])], { body: { graph: body.graph() }, num_scan_inputs: 1, scan_input_axes: [1], scan_output_axes: [1] }, { outputs: 2 });
    outs.forEach((o) => g.output(o));
    const bytes = g.build();
    expect(Object.values(await ortShapes(bytes, { h0: [1, 16], xs: [1, 12, 32] }))).toEqual([[1, 16], [1, 12, 16]]);
    // 12 steps × (h·R 16·16 + x·Wx 32·16); element ops 12 × (Add 16 + Tanh 16 + Identity 16).
    expect(profileOnnx(bytes)).toMatchObject({ macs: 12 * (16 * 16 + 32 * 16), element_ops: 12 * 48, unknown_shape_nodes: [] });
  });

  it('lists a Scan onnxruntime refuses: scan inputs of different lengths, a state that changes shape', async () => {
    const scan = (h0: number[], xs: number[][], grow: boolean) => {
      const body = new OnnxGraphBuilder('scan_body');
      const h = body.input('h_in', [null, 4]);
      const slices = xs.map((_, j) => body.input(`x${j}`, [4]));
      const next = grow ? body.node('Concat', [h, h], { axis: 0 }) : body.node('Add', [h, slices[0]!]);
      body.output(next, [null, 4]).output(body.node('Identity', [slices[0]!]), [4]);
      const g = new OnnxGraphBuilder('scan_bad', { inlineLimit: Infinity });
      const outs = g.nodeOutputs('Scan', [g.input('h0', h0), ...xs.map((d, j) => g.input(`xs${j}`, d))], { body: { graph: body.graph() }, num_scan_inputs: xs.length }, { outputs: 2, name: 'scan' });
      outs.forEach((o) => g.output(o));
      return g.build();
    };
    expect(profileOnnx(scan([1, 4], [[3, 4], [7, 4]], false)).unknown_shape_nodes).toEqual(['scan: scan inputs have different lengths along their scan axes: 3, 7']);
    await expect(ortShapes(scan([1, 4], [[3, 4], [7, 4]], false), { h0: [1, 4], xs0: [3, 4], xs1: [7, 4] })).rejects.toThrow();
    expect(profileOnnx(scan([1, 4], [[3, 4]], true)).unknown_shape_nodes).toEqual(['scan: state 0 changes shape from slice to slice ([1,4] → [2,4])']);
    await expect(ortShapes(scan([1, 4], [[3, 4]], true), { h0: [1, 4], xs0: [3, 4] })).rejects.toThrow();
    expect(profileOnnx(scan([1, 4], [[3, 4]], false))).toMatchObject({ element_ops: 3 * (4 + 4), unknown_shape_nodes: [] });
  });

  it('counts the costlier branch of an If, and infers outputs both branches agree on', async () => {
    const branch = (name: string, k: number) => {
      const b = new OnnxGraphBuilder(name);
      b.output(b.node('MatMul', [b.node('MatMul', ['x', `W${k}a`]), `W${k}b`]), [1, 8]);
      return b.graph();
    };
    const g = new OnnxGraphBuilder('if', { inlineLimit: Infinity });
    g.input('x', [1, 8]);
    g.weight('W1a', [8, 256]);
    g.weight('W1b', [256, 8]);
    g.weight('W2a', [8, 4]);
    g.weight('W2b', [4, 8]);
    const y = g.node('If', [g.input('flag', [], 'bool')], { then_branch: { graph: branch('big', 1) }, else_branch: { graph: branch('small', 2) } });
    g.output(g.node('Relu', [y]));
    const bytes = g.build();
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(8), [1, 8]), flag: new ort.Tensor('bool', new Uint8Array([1]), []) });
    await session.release();
    expect(Object.values(out).map((t) => t.dims)).toEqual([[1, 8]]);
    expect(profileOnnx(bytes)).toMatchObject({ macs: 8 * 256 + 256 * 8, element_ops: 8, unknown_shape_nodes: [] });
    expect(profileOnnx(bytes).op_histogram).toEqual({ If: 1, MatMul: 4, Relu: 1 });
  });

  it('orders a node after the producer of an outer value its subgraph reads', () => {
    const body = new OnnxGraphBuilder('body');
    body.output(body.node('MatMul', ['x', 'late']), [1, 4]);
    const g = new OnnxGraphBuilder('implicit');
    g.output(g.node('If', [g.input('flag', [], 'bool')], { then_branch: { graph: body.graph() }, else_branch: { graph: body.graph() } }));
    g.nodeOutputs('Relu', [g.weight('w', [4, 4])], {}, { outputs: ['late'] });
    g.input('x', [1, 4]);
    // The If comes first in the file; it reads `late` from the enclosing graph, so the Relu must be inferred first.
    expect(profileOnnx(g.build())).toMatchObject({ macs: 4 * 4, element_ops: 4 * 4, unknown_shape_nodes: [] });
  });
});

describe('profileOnnx: recurrent and Einsum MACs', () => {
  it('counts LSTM and GRU as seq · dirs · batch · gates · hidden · (input + hidden)', () => {
    const g = new OnnxGraphBuilder('rnns');
    // LSTM: 7 steps, batch 2, input 10, hidden 6, both directions: per step and direction X·Wᵀ [2,10]×[10,24] and H·Rᵀ [2,6]×[6,24].
    g.nodeOutputs('LSTM', [g.input('x', [7, 2, 10]), g.weight('w', [2, 24, 10]), g.weight('r', [2, 24, 6])], { hidden_size: 6, direction: 'bidirectional' }, { outputs: 3 }).forEach((o) => g.output(o));
    // GRU: 5 steps, batch 3, input 8, hidden 4: X·Wᵀ [3,8]×[8,12] and H·Rᵀ [3,4]×[4,12].
    g.output(g.node('GRU', [g.input('s', [5, 3, 8]), g.weight('gw', [1, 12, 8]), g.weight('gr', [1, 12, 4])], { hidden_size: 4 }));
    const p = profileOnnx(g.build());
    expect(p.macs).toBe(7 * 2 * (2 * 10 * 24 + 2 * 6 * 24) + 5 * (3 * 8 * 12 + 3 * 4 * 12));
    expect(p.unknown_shape_nodes).toEqual([]);
  });

  it('lists a recurrent node whose weights do not fit its input, or that has no hidden_size (onnxruntime refuses all three)', async () => {
    const lstm = (w: number[], r: number[], attrs: Record<string, number> = { hidden_size: 6 }) => {
      const g = new OnnxGraphBuilder('bad_lstm', { inlineLimit: Infinity });
      g.output(g.node('LSTM', [g.input('x', [7, 2, 10]), g.weight('w', w), g.weight('r', r)], attrs, { name: 'lstm' }), [7, 1, 2, 6]);
      return g.build();
    };
    const cases: [Uint8Array, string][] = [
      [lstm([1, 24, 9], [1, 24, 6]), 'lstm: W [1,24,9] does not fit X [7,2,10] with 1 direction(s), 4 gate(s) and hidden_size 6'],
      [lstm([1, 24, 10], [1, 24, 3]), 'lstm: R [1,24,3] is not [1, 24, 6] (directions, 4 gate(s) × hidden_size, hidden_size)'],
      [lstm([1, 24, 10], [1, 24, 6], {}), 'lstm'],
    ];
    for (const [bytes, listed] of cases) {
      expect(profileOnnx(bytes)).toMatchObject({ macs: 0, unknown_shape_nodes: [listed] });
      await expect(ortShapes(bytes, { x: [7, 2, 10] })).rejects.toThrow();
    }
    expect(profileOnnx(lstm([1, 24, 10], [1, 24, 6])).macs).toBe(7 * 2 * 24 * (10 + 6));
  });

  it('counts Einsum contractions pairwise, left to right, and a one-operand Einsum as element work', () => {
    const g = new OnnxGraphBuilder('einsums');
    g.output(g.node('Einsum', [g.input('a', [2, 3, 4]), g.input('b', [2, 4, 5])], { equation: 'bij,bjk->bik' }));
    g.output(g.node('Einsum', [g.input('p', [3, 4]), g.input('q', [4, 5]), g.input('r', [5, 6])], { equation: 'ij,jk,kl->il' }));
    g.output(g.node('Einsum', [g.input('t', [3, 4, 5])], { equation: 'abc->ca' }));
    const p = profileOnnx(g.build());
    // A batched matmul 2 × [3,4]·[4,5]; a chain (P·Q)·R = 3·4·5 + 3·5·6; the transpose-and-sum is 5·3 output elements.
    expect(p).toMatchObject({ macs: 2 * 3 * 4 * 5 + 3 * 4 * 5 + 3 * 5 * 6, element_ops: 5 * 3, unknown_shape_nodes: [] });
  });

  it('sums out an operand\'s own labels before contracting (a trial: ij,k->k counted 40,000 MACs for 4)', () => {
    const g = new OnnxGraphBuilder('einsum_reduce');
    g.output(g.node('Einsum', [g.input('a', [100, 100]), g.input('b', [4])], { equation: 'ij,k->k' }));
    g.output(g.node('Einsum', [g.input('p', [3, 7]), g.input('q', [3, 5])], { equation: 'ij,ik->k' }));
    // [4] scaled by the sum of a; Σ_i (Σ_j p_ij) · q_ik: 3·5 MACs after summing j out of p.
    expect(profileOnnx(g.build())).toMatchObject({ macs: 4 + 3 * 5, unknown_shape_nodes: [] });
  });

  it('lists Einsum equations onnxruntime refuses', async () => {
    const cases: [string, number[], number[], string][] = [
      ['ij,jk->ii', [3, 4], [4, 5], 'output index "i" is repeated'],
      ['...ij,...jk->ik', [2, 3, 4], [2, 4, 5], 'the operands have "..." and the output does not (onnxruntime refuses it)'],
      ['...ij,...jk->...ik', [7, 1, 2, 3], [5, 3, 4], '"..." stands for 2 and 1 dims in different operands'],
    ];
    for (const [equation, a, b, why] of cases) {
      const g = new OnnxGraphBuilder('bad_einsum');
      g.output(g.node('Einsum', [g.input('a', a), g.input('b', b)], { equation }, { name: 'e' }));
      const bytes = g.build();
      expect(profileOnnx(bytes)).toMatchObject({ macs: 0, unknown_shape_nodes: [`e: ${why}`] });
      await expect(ortShapes(bytes, { a, b })).rejects.toThrow();
    }
  });
});
