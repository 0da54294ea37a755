/**
 * `edgelat profile <model.onnx>` (issue 5 item 1): params, MACs, FLOPs,
 * element ops, weight bytes, precision, inputs and operator histogram of an
 * ONNX model, as a terminal table or one JSON line.
 */
import { basename } from 'node:path';
import { formatProfile } from '../profiler/format.ts';
import { OnnxProfileError } from '../profiler/onnx-values.ts';
import { profileOnce } from '../profiler/profile-worker.ts';
import type { ModelProfile } from '../profiler/types.ts';
import { readOnnxFile } from './common.ts';
import { UsageError } from './usage-error.ts';
import { idProblem } from '../names.ts';
import { UNNAMED_MODEL_ID } from '../predictor/types.ts';

/** Options of {@link profileCommand} (as commander gives them). */
export interface ProfileCommandOptions {
  /** Print the profile as one JSON line instead of the table. */
  json: boolean;
  /** Value of the model's symbolic batch dim. @default 1 */
  batch?: number;
  /** Values of other named symbolic dims of the inputs (`--dim seq=128`). */
  dim?: Record<string, number>;
  /** `model_id` of the profile. @default the graph name when it is an id, else the file name without `.onnx` when it is one, else `model` */
  modelId?: string;
}

/**
 * Profile an ONNX file and print the result to stdout.
 * @param file  Path of the `.onnx` model (external weight files are not read: only initializer dims count).
 * @returns     The profile printed.
 * @throws {UsageError} (printed in one line, exit code 2) if the file cannot be read, is not a regular file of at most
 *   ONNX_FILE_LIMIT_BYTES (64 MiB, as `serve` takes), `batch` is not an integer
 *   >= 1, `modelId` is empty or no id (names.ts `idProblem`), or the bytes are not a profilable ONNX model (the {@link OnnxProfileError} message, after the path).
 * @example see test/unit/profiler/profile.test.ts
 */
export async function profileCommand(file: string, opts: ProfileCommandOptions): Promise<ModelProfile> {
  if (opts.batch !== undefined && (!Number.isSafeInteger(opts.batch) || opts.batch < 1)) throw new UsageError(`--batch must be an integer >= 1, got ${JSON.stringify(opts.batch)}`);
  if (opts.modelId !== undefined && opts.modelId.trim() === '') throw new UsageError(`--model-id: expected a non-empty id, got ${JSON.stringify(opts.modelId)} (leave it out to use the graph or file name)`);
  // The one id rule, as `recommend --profile` and POST /v1/recommend check the profile's model_id (a re-test: 300
  // letters, or a right-to-left override, were printed, and the profile then refused).
  const notId = opts.modelId === undefined ? null : idProblem('--model-id', opts.modelId);
  if (notId !== null) throw new UsageError(notId);
  // A regular file up to the upload limit: a trial's `profile /dev/urandom` read for ever.
  const bytes = readOnnxFile('model file', file);
  let profile: ModelProfile;
  try {
    profile = await profileOnce(bytes, { batch: opts.batch, modelId: opts.modelId, dims: opts.dim });
  } catch (error) {
    if (error instanceof OnnxProfileError) throw new UsageError(`model file ${JSON.stringify(file)}: ${error.message}`, { cause: error });
    throw error;
  }
  if (!profile.model_id) {
    // No graph name that is an id: the file's name when it is one (else "model"), said on stderr (the JSON is stdout's).
    const name = basename(file).replace(/\.onnx$/i, '');
    profile.model_id = idProblem('model_id', name) === null ? name : UNNAMED_MODEL_ID;
    process.stderr.write(`edgelat: note: model_id is ${JSON.stringify(profile.model_id)}${profile.model_id === name ? ' (the file name)' : ''}: the ONNX graph has no name that is an id (at most 256 characters, no blanks around it, no control, bidirectional or invisible characters); --model-id names it\n`);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(profile)}\n` : formatProfile(profile));
  return profile;
}
