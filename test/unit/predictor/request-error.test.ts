/**
 * How the backend turns the latency predictor's errors into the API's: an unknown name is a 404,
 * other bad usage a 400, a warehouse failure passes through (500). The 404s were chosen by a regex
 * over the message text before, which a reworded message would have turned into 400s.
 */
import { describe, expect, it } from 'vitest';
import { UnknownNameError, UsageError } from '../../../services/cli/usage-error.ts';
import { requestError } from '../../../services/predictor/backend.ts';
import { BadRequestError, NotFoundError } from '../../../services/predictor/types.ts';

function thrown(error: unknown): unknown {
  try {
    requestError(error);
  } catch (e) {
    return e;
  }
  throw new Error('requestError returned');
}

describe('requestError', () => {
  it('maps an unknown name to NotFoundError, other usage errors to BadRequestError, and passes the rest', () => {
    const unknown = thrown(new UnknownNameError('unknown server "edge-99": nearest in the fleet data: edge-01'));
    expect([unknown instanceof NotFoundError, (unknown as Error).message]).toEqual([true, 'unknown server "edge-99": nearest in the fleet data: edge-01']);
    const usage = thrown(new UsageError('server "edge-01" runs chip "a", not "b": its queueing context belongs to its own chip'));
    expect([usage instanceof BadRequestError, usage instanceof NotFoundError, (usage as Error).message])
      .toEqual([true, false, 'server "edge-01" runs chip "a", not "b": its queueing context belongs to its own chip']);
    // The field at fault travels with it: the problem's errors[].path (a trial: a server on another chip had none).
    const onField = thrown(new UsageError('server "edge-01" runs chip "a", not "b": its queueing context belongs to its own chip', 'server'));
    expect([onField instanceof BadRequestError, (onField as BadRequestError).field]).toEqual([true, 'server']);
    const cause = new Error('inner');
    expect([new UsageError('x', { cause }).cause, new UsageError('x', { cause }).field, new UnknownNameError('y', 'chip').field]).toEqual([cause, undefined, 'chip']);
    const failure = new Error('Code: 241. DB::Exception: Memory limit exceeded');
    expect(thrown(failure)).toBe(failure);
  });
});
