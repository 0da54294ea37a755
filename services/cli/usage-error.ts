/** Bad usage found by a command itself (after parsing): printed in one line, exit code 2. */
export class UsageError extends Error {}

/**
 * Bad usage that names something the data does not have (an unknown server,
 * model or chip, or a model with no requests to take an input size from):
 * exit code 2 on the command line like any {@link UsageError}, 404 over HTTP
 * (services/predictor/backend.ts), where the request is well formed and the
 * thing it names is not found.
 */
export class UnknownNameError extends UsageError {
  /** @param field  The request field that names it (`model`, `chip`, `server`): the API's `errors[].path`. */
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}
