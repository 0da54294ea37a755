/**
 * The EventLog conformance suite on ConfluentWireEventLog over the in-process
 * log: the decorator keeps every EventLog guarantee (values that are not Avro,
 * as in the suite, pass through unchanged).
 */
import { InMemorySchemaRegistry } from '../../schemas/index.ts';
import { ConfluentWireEventLog } from '../../services/eventlog/confluent-wire.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { eventLogConformance } from '../helpers/eventlog-conformance.ts';

eventLogConformance('confluent-wire over memory', async () => {
  const log = new ConfluentWireEventLog(new MemoryEventLog(), { client: new InMemorySchemaRegistry() });
  return { log, cleanup: () => log.close() };
}, { drainMs: 500 });
