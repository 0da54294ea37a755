/**
 * `edgelat model promote`: a champion chosen by hand (a rollback to an earlier version, or a challenger over the
 * champion). A trial found no way to do it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promoteModel } from '../../services/cli/model.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { MODEL_LATENCY_TOPIC } from '../../services/model/lifecycle.ts';
import { decodeLatencyModelEvent, ModelRegistry, type RegisteredModel } from '../../services/model/registry.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe('model promote', () => {
  let w: ChdbWarehouse;
  let registry: ModelRegistry;
  const T = Date.UTC(2024, 5, 1, 10);
  beforeAll(async () => {
    w = await createTestDatabase('promote');
    registry = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-promote-')));
    const versions = ['total_ms_p50-20240601T101000Z-0001', 'total_ms_p50-20240601T102000Z-0001', 'total_ms_p50-20240601T103000Z-0001'];
    const statuses = ['retired', 'champion', 'challenger'] as const;
    for (const [i, version] of versions.entries()) {
      const file = await registry.saveFile(version, new TextEncoder().encode(`model ${i}`));
      const m: RegisteredModel = {
        version, kind: 'total_ms_p50', trainedAtMs: T + i * 600_000, windowStartMs: T - 600_000, windowEndMs: T + i * 600_000, holdoutStartMs: T + i * 600_000 - 120_000,
        rowsTrain: 100, rowsHoldout: 20, metrics: {}, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status: statuses[i]!, reason: '', updatedAtMs: T + i * 600_000,
      };
      await registry.register(m);
    }
  });
  afterAll(async () => w?.close());

  it('rolls back to an earlier version: the champion is retired, saying by whom; again changes nothing; a typo names the nearest', async () => {
    const r = await promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001');
    expect(r).toEqual({ version: 'total_ms_p50-20240601T101000Z-0001', kind: 'total_ms_p50', previous: 'total_ms_p50-20240601T102000Z-0001' });
    expect((await registry.champion('total_ms_p50'))!.version).toBe('total_ms_p50-20240601T101000Z-0001');
    const old = (await registry.get('total_ms_p50', 'total_ms_p50-20240601T102000Z-0001'))!;
    expect([old.status, old.reason]).toEqual(['retired', 'replaced by total_ms_p50-20240601T101000Z-0001 by hand (edgelat model promote)']);
    expect((await registry.list('total_ms_p50')).filter((m) => m.status === 'champion')).toHaveLength(1);
    expect(await promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001')).toEqual({ version: 'total_ms_p50-20240601T101000Z-0001', kind: 'total_ms_p50', previous: 'total_ms_p50-20240601T101000Z-0001' });
    await expect(promoteModel(registry, 'total_ms_p50-20240601T103000Z-001')).rejects.toThrow('no registered latency model "total_ms_p50-20240601T103000Z-001"; nearest versions: total_ms_p50-20240601T103000Z-0001');
  });

  it('announces the new champion on models.latency.v1 when given a log, as the schedule does; nothing when it was the champion already', async () => {
    // A trial: a rollback by hand went unannounced, so consumers of the topic kept the replaced champion.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const at = T + 3_600_000;
    expect(await promoteModel(registry, 'total_ms_p50-20240601T102000Z-0001', at, log)).toMatchObject({ previous: 'total_ms_p50-20240601T101000Z-0001' });
    await promoteModel(registry, 'total_ms_p50-20240601T102000Z-0001', at + 1, log);
    const records = await log.read({ topic: MODEL_LATENCY_TOPIC, partition: 0 }, 0, await log.endOffset({ topic: MODEL_LATENCY_TOPIC, partition: 0 }));
    expect(records).toHaveLength(1);
    const event = decodeLatencyModelEvent(records[0]!.value);
    expect(event.ok && [records[0]!.key?.toString(), records[0]!.timestampMs, event.value.version, event.value.previous_version, event.value.reason]).toEqual([
      'total_ms_p50', at, 'total_ms_p50-20240601T102000Z-0001', 'total_ms_p50-20240601T101000Z-0001', 'promoted by hand (edgelat model promote), replacing total_ms_p50-20240601T101000Z-0001',
    ]);
    await promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001', at + 2); // back, for the next test
  });

  it('refuses a model whose file changed after registration: a champion must load', async () => {
    const challenger = (await registry.get('total_ms_p50', 'total_ms_p50-20240601T103000Z-0001'))!;
    writeFileSync(challenger.filePath, 'tampered');
    await expect(promoteModel(registry, challenger.version)).rejects.toThrow(/^cannot promote "total_ms_p50-20240601T103000Z-0001": model file .* has sha256 /);
    expect((await registry.champion('total_ms_p50'))!.version).toBe('total_ms_p50-20240601T101000Z-0001');
  });
});
