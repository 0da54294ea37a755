/**
 * `ModelProfile` (DESIGN §2): what the ONNX profiler measures of a model's
 * graph, under this convention (issue 5):
 * - params = the element count of all initializers;
 * - MACs = Σ over Conv / ConvTranspose of Cout·Hout·Wout·(Cin/groups)·Kh·Kw
 *   (every spatial dim multiplied in for 1-D/3-D), and over Gemm / MatMul of
 *   M·N·K with batch dims multiplied in; over RNN / GRU / LSTM of
 *   seq·dirs·batch·gates·hidden·(input + hidden); over Einsum of Π of the
 *   labels of each pairwise contraction, left to right; FLOPs = 2·MACs;
 * - a Loop or Scan body counts once per trip (a Loop's constant trip count, a
 *   Scan's length), an If its costlier branch (graph-counts.ts);
 * - every other operator's work is counted separately as element operations
 *   (the element count of its output(s));
 * - a symbolic batch dimension counts as 1 unless a batch is given.
 */

/** One graph input (initializers excluded). */
export interface ProfileInput {
  name: string;
  /** Resolved dims (the symbolic batch replaced); a symbolic dim other than the batch is 1 and named in `symbolic`. */
  shape: number[];
  /** ONNX element type name: `float32`, `float16`, `int8`, `int64`, ... */
  dtype: string;
  /** Names of the dims that were symbolic, by position (null where fixed). */
  symbolic: (string | null)[];
  /** True when the file gives the input no shape at all (its rank is unknown; `shape` is then `[]`, and its bytes are not in `input_bytes`); absent otherwise. */
  rank_unknown?: true;
}

/** What `profileOnnx` returns; counts are exact integers (JS numbers, < 2^53). */
export interface ModelProfile {
  /** `graph.name` or the file name, unless given. */
  model_id: string;
  /** `model_version` of the ModelProto, as a string; `''` when unset. */
  model_version: string;
  /** Element count of all initializers. */
  params: number;
  /** Multiply-accumulates of Conv, ConvTranspose, Gemm, MatMul, RNN / GRU / LSTM, Einsum and their quantized forms ({@link MAC_OPERATORS_TEXT}), subgraphs included. */
  macs: number;
  /** 2 · macs. */
  flops: number;
  /** Element operations of every other operator (sum of their output element counts). */
  element_ops: number;
  /** Bytes of all initializers (element count · element size). */
  weight_bytes: number;
  /** Most common initializer element type by bytes: `float32`, `float16`, `int8`, ... */
  precision: string;
  /** Operator type → node count, e.g. `{ Conv: 53, Relu: 49 }`. */
  op_histogram: Record<string, number>;
  inputs: ProfileInput[];
  /** Bytes of one request's inputs at the profiled batch (Σ elements · element size). */
  input_bytes: number;
  /** The batch the symbolic batch dim was replaced with. */
  batch: number;
  /**
   * Nodes whose output shape could not be inferred (their MACs/element ops are not counted): the node name, or
   * `#index (Op)`; followed by `: why` when its input shapes contradict each other (`inner dims differ: [1,100] × [256,512]`).
   * A node inside a subgraph is `parent/node` (`parent.then/node` in an If branch). A Loop whose trip count is not a
   * constant is listed as `loop: trip count unknown, body counted once (a lower bound)`, and a node whose subgraph
   * is not counted (opset-8 Scan, a custom domain) as `node: subgraph of Op not counted`. A node of a custom domain
   * (not the default one, not ai.onnx.ml) whose output shape value_info declares is listed as
   * `node: domain.Op of a custom domain not counted` (its work is unknown; the nodes after it are counted).
   * First come the input dims past the batch that were counted as 1, one line each: a named one not set
   * (`input "x" dim 1 "seq": not set, counted as 1 (a lower bound; set it: --dim seq=<n>, or ?dim=seq=<n> over HTTP)`) and an unknown one
   * (`input "x" dim 2: unknown (no value or name), counted as 1 (a lower bound)`).
   */
  unknown_shape_nodes: string[];
}

/** The operators whose MACs are counted, as help and messages name them (shape-compute.ts `MAC_OPS`, the recurrent ones and Einsum). */
export const MAC_OPERATORS_TEXT = 'Conv, ConvTranspose, Gemm, MatMul, RNN/GRU/LSTM, Einsum, and the quantized ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul';
