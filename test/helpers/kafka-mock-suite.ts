/** The kcat mock cluster (kafka-mock.ts) as a vitest suite's fixture. */
import { afterAll, beforeAll } from 'vitest';
import { startKafkaMock, type KafkaMock } from './kafka-mock.ts';

/**
 * Start a mock cluster before the enclosing suite and stop it after (call inside `describe`).
 * @returns a getter for the running cluster (valid inside tests).
 */
export function useKafkaMock(): () => KafkaMock {
  let mock: KafkaMock | undefined;
  beforeAll(async () => {
    mock = await startKafkaMock();
  });
  afterAll(async () => {
    await mock?.stop();
  });
  return () => mock!;
}
