import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { eventLogConformance } from '../helpers/eventlog-conformance.ts';

eventLogConformance('memory', async () => {
  const log = new MemoryEventLog();
  return { log, cleanup: () => log.close() };
}, { drainMs: 500 });
