import { afterAll, beforeAll } from 'vitest';
import { startKafkaMock, type KafkaMock } from './kafka-mock.ts';
import { startSqlEndpointProcess, type SqlEndpointProcess } from './sql-endpoint.ts';

/** The two protocol peers of the scale-out tests: librdkafka's mock Kafka cluster and the ClickHouse HTTP endpoint. */
export interface Peers {
  mock: KafkaMock;
  endpoint: SqlEndpointProcess;
}

/**
 * Start the mock Kafka cluster and the `edgelat serve` endpoint before the
 * enclosing suite and stop both after it (call inside `describe`).
 * @returns a getter for the running peers (valid inside tests).
 */
export function usePeers(): () => Peers {
  let peers: Partial<Peers> = {};
  beforeAll(async () => {
    peers = { mock: await startKafkaMock() };
    peers.endpoint = await startSqlEndpointProcess();
  });
  afterAll(async () => {
    await peers.endpoint?.stop();
    await peers.mock?.stop();
  });
  return () => peers as Peers;
}
