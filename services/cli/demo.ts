import type { EdgelatConfig } from '../config.ts';
import { chdbDir } from '../config.ts';
import { createLogger } from '../log.ts';
import { runDemo } from '../pipeline/demo.ts';
import { readSummary } from '../pipeline/summary.ts';
import { ChdbWarehouse } from '../warehouse/chdb.ts';
import { createProgress } from './progress.ts';

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * `edgelat demo`: run the embedded main job and print its summary on stdout
 * (progress and logs on stderr).
 */
export async function demoCommand(config: EdgelatConfig, opts: { duration: number; servers: number; seed: number; jitter: number; badRecords: number }): Promise<void> {
  const logger = createLogger(config.logLevel);
  const warehouse = new ChdbWarehouse({ dataDir: chdbDir(config), database: config.database });
  const progress = createProgress();
  try {
    const result = await runDemo({
      warehouse, config, logger, badRecords: opts.badRecords,
      sim: { seed: opts.seed, servers: opts.servers, durationMs: opts.duration * 60_000, maxJitterMs: opts.jitter },
      onStage: (stage, total) => progress.stage(stage, total),
      onProgress: (_stage, done) => progress.update(done),
    });
    progress.stop();
    const s = await readSummary(warehouse);
    const db = warehouse.database;
    const c = result.counts;
    const lines = [
      `edgelat demo: ${opts.servers} edge servers, ${opts.duration} min of event time, arrival jitter up to ${opts.jitter} ms, seed ${opts.seed} (${(result.elapsedMs / 1000).toFixed(1)} s)`,
      '',
      'records per topic',
      ...Object.entries(result.topicRecords).map(([t, n]) => `  ${t.padEnd(40)} ${fmt(n).padStart(9)}`),
      '',
      `dead letters          ${fmt(s.tables.dead_letters)} (bad records injected: ${result.badRecords}; table ${db}.dead_letters)`,
      `late events           ${fmt(s.tables.late_events)} (join ${fmt(Object.values(c.join).reduce((a, t) => a + t.late, 0))}, correlation ${fmt(Object.values(c.correlation).reduce((a, t) => a + t.late, 0))}; table ${db}.late_events)`,
      `enriched rows         ${fmt(s.tables.inference_enriched)}`,
      `join match rate       ${(s.matchRate * 100).toFixed(2)} %`,
      `correlation windows   ${fmt(s.tables.load_latency_correlations)}`,
      `ground-truth rows     ${fmt(s.tables.sim_ground_truth)}`,
      '',
      'strongest load-versus-latency correlations (one window per server, model and pair; 95 % CI by Fisher z)',
      s.strongest.trimEnd(),
      '',
      'latency per chip (status ok; nearest-rank percentiles)',
      s.perChip.trimEnd(),
      '',
      `data: ${chdbDir(config)} (database ${db})`,
      'try:',
      `  npx edgelat sql "SELECT chip, model_id, count() AS n, round(corrStable(gpu_util, total_ms), 3) AS r FROM ${db}.inference_enriched GROUP BY chip, model_id ORDER BY r DESC"`,
      `  npx edgelat sql "SELECT edge_server_id, window_end, pearson_r, ci_low, ci_high, n FROM ${db}.load_latency_correlations WHERE x_metric = 'queue_depth' AND y_metric = 'total_ms' AND edge_server_id = {s:String} ORDER BY window_end LIMIT 10" --param s=edge-01`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    progress.stop();
    await warehouse.close();
  }
}
