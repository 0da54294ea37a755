/** Bad usage found by a command itself (after parsing): printed in one line, exit code 2. */
export class UsageError extends Error {
  /** The request field at fault, where one is (`server`, …): over HTTP the problem's `errors[].path` is `#/<field>`. */
  readonly field?: string;

  /** @param fieldOrOptions  The field at fault, or Error options (`{ cause }`). */
  constructor(message: string, fieldOrOptions?: string | ErrorOptions) {
    super(message, typeof fieldOrOptions === 'string' ? undefined : fieldOrOptions);
    if (typeof fieldOrOptions === 'string') this.field = fieldOrOptions;
  }
}

/**
 * Bad usage that names something the data does not have (an unknown server,
 * model or chip, or a model with no requests to take an input size from):
 * exit code 2 on the command line like any {@link UsageError}, 404 over HTTP
 * (services/predictor/backend.ts), where the request is well formed and the
 * thing it names is not found.
 */
export class UnknownNameError extends UsageError {}
