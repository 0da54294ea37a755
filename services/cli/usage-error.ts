/** Bad usage found by a command itself (after parsing): printed in one line, exit code 2. */
export class UsageError extends Error {}
