/**
 * The id of a request (a model, version, chip, server): one zod rule for every route and the CLI's flags.
 */
import { z } from 'zod';
import { idProblem } from '../names.ts';
import { MAX_ID_CHARS } from './types.ts';

/**
 * An id in a request: 1 to {@link MAX_ID_CHARS} characters with no blanks around them, no control characters,
 * bidirectional marks or characters that do not show (names.ts `idProblem`, also the CLI's rule). A trial:
 * `"resnet50\u202e"` was answered 404 with the override echoed by /v1/predict, and refused by /v1/gate as a
 * `bad-request` where predict's other checks answer `validation-failed` (a re-test).
 */
export const idText = z.string().min(1).max(MAX_ID_CHARS).superRefine((value, ctx) => {
  // An empty or too long id is min's and max's error (one error per field).
  const problem = value.length >= 1 && value.length <= MAX_ID_CHARS ? idProblem('id', value) : null;
  // The value itself is quoted by `validate` (", got …"), escaped.
  if (problem) ctx.addIssue({ code: 'custom', message: problem.replace(/^id: /, '').replace(/, got [^]*$/, '') });
}).meta({ description: 'an id: 1 to 256 characters, no blanks around them, no control characters, bidirectional marks or characters that do not show' });
