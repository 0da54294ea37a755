/**
 * The load-versus-latency report's queries (`sql/reports/*.sql`), run with
 * bound parameters on any warehouse (embedded chdb or a ClickHouse server).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { msToDateTime64, type QueryParam, type Warehouse } from '../warehouse/types.ts';

/** Folder of the report SQL files. */
export const REPORTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../sql/reports');

/** Fewest requests a bucket needs to count for the SLO knee (a p99 of fewer is little more than the maximum). */
export const KNEE_MIN_REQUESTS = 100;

/** Most buckets a fixed --bucket-width may make over the data's load range. */
export const MAX_BUCKETS = 1000;

/**
 * A bin width as the decimal it is written as: `w` = mantissa · 10^exponent, from its shortest round-trip digits
 * (ECMAScript Number::toString): 0.1 → 1·10^−1, 2.5e-7 → 25·10^−8, 1000 → 1000·10^0. The report's bin edges are
 * the doubles nearest k·mantissa·10^exponent (sql/reports/_rows.sql), so 0.3 is the edge of 0.1's bin 3.
 * @param w  A width > 0, finite.
 * @returns  `width_m` (the digits, as text for an Int128 parameter) and `width_e`.
 */
export function decimalWidth(w: number): { width_m: string; width_e: number } {
  const [coefficient, power = '0'] = String(w).split('e');
  const [whole, fraction = ''] = coefficient!.split('.');
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, '');
  return { width_m: digits, width_e: Number(power) - fraction.length };
}

/** Fixed bins of width `w` over a load range lo..hi: floor(hi/w) − floor(lo/w) + 1 (the SQL's `floor(x / width)`). */
export function bucketCount(lo: number, hi: number, w: number): number {
  return Math.floor(hi / w) - Math.floor(lo / w) + 1;
}

/**
 * The smallest width, to 2 significant digits rounded up, whose bins over lo..hi number at most {@link MAX_BUCKETS}
 * (a width given as it is said must be taken: a trial's 0.00098 made 1,005). Bins of w number at most (hi − lo)/w + 2.
 */
export function leastBucketWidth(lo: number, hi: number): number {
  const exact = (hi - lo) / (MAX_BUCKETS - 2);
  if (!(exact > 0)) return Number.MIN_VALUE;
  const step = 10 ** (Math.floor(Math.log10(exact)) - 1);
  let w = Number((Math.ceil(exact / step) * step).toPrecision(2));
  while (bucketCount(lo, hi, w) > MAX_BUCKETS) w = Number((w + step).toPrecision(2));
  return w;
}

/** Fewest rows of a (server, model) in the range for its Pearson r in the load-sensitive list (sql/reports/load_sensitive_servers.sql). */
export const SENSITIVE_MIN_REQUESTS = 30;

/** Load columns of `inference_enriched` a report can bucket by (units: utilisation fractions 0..1, counts, requests/s). */
export const LOAD_METRICS = ['cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s'] as const;
/** One of {@link LOAD_METRICS}. */
export type ReportMetric = (typeof LOAD_METRICS)[number];

/** What a report covers. Absent bounds and ids mean "all". */
export interface ReportFilter {
  /** Event time from (inclusive), epoch ms. */
  sinceMs?: number;
  /** Event time until (exclusive), epoch ms. */
  untilMs?: number;
  server?: string;
  model?: string;
  chip?: string;
  /** Load metric to bucket by and correlate with total latency. */
  metric: ReportMetric;
  /** Fixed bins of this width (in the metric's unit) instead of deciles; > 0. */
  bucketWidth?: number;
}

/** Latency by load bucket for one (chip, model), or the fleet (`chip` = `model_id` = `'*'`); ms, nearest-rank. */
export interface LatencyBucketRow {
  chip: string;
  model_id: string;
  bucket: number;
  load_low: number;
  load_high: number;
  n: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
  /** Requests of the bucket whose status is not ok (timeout or error): in the percentiles at the latency they took. */
  failed: number;
}

/** i/o and compute share of latency by load bucket, per chip or the fleet (`'*'`); shares are fractions 0..1 (null when no time). */
export interface IoShareRow {
  chip: string;
  bucket: number;
  load_low: number;
  load_high: number;
  n: number;
  io_ms_sum: number;
  compute_ms_sum: number;
  io_share: number | null;
  compute_share: number | null;
}

/** A (server, model) pair's sensitivity to load over the report's rows. */
export interface SensitivityRow {
  edge_server_id: string;
  model_id: string;
  chip: string;
  n: number;
  pearson_r: number;
  /** ms of total latency per unit of the load metric (least squares). */
  slope_ms_per_unit: number;
  /** slope / mean latency: fraction of the mean per unit of load. */
  relative_slope: number;
  mean_ms: number;
}

/** Least-squares line of total latency (ms) on load, per chip. */
export interface LineRow {
  chip: string;
  n: number;
  slope_ms_per_unit: number;
  intercept_ms: number;
  pearson_r: number;
  load_min: number;
  load_max: number;
  /**
   * The line's latency at load_min, ms: draw it as this + slope·(x − load_min), which keeps its digits where
   * intercept + slope·x cancels (loads far from 0: a re-test drew it 70 ms off on rates near 1e9).
   */
  latency_at_load_min_ms: number;
}

/** One closed correlation window of a (server, model) key. `window_end` is ClickHouse text (UTC). */
export interface CorrelationPoint {
  edge_server_id: string;
  model_id: string | null;
  chip: string | null;
  window_end: string;
  n: number;
  pearson_r: number | null;
  ci_low: number | null;
  ci_high: number | null;
  alert_state: string;
}

/** A sampled (load, latency) point. */
export interface ScatterPoint {
  chip: string;
  x: number;
  total_ms: number;
}

const ALL_FROM = '1900-01-01 00:00:00.000';
const ALL_UNTIL = '2299-12-31 23:59:59.999';

/**
 * The checks of a report's filter that need no data (the {@link ReportQueries} constructor's, also run by `report`
 * before it opens the warehouse).
 * @throws {RangeError} on a metric outside {@link LOAD_METRICS}, a non-positive bucket width, or since ≥ until
 *   (messages name the flag and value).
 */
export function checkReportFilter(filter: ReportFilter): void {
  if (!(LOAD_METRICS as readonly string[]).includes(filter.metric)) {
    throw new RangeError(`--metric: expected one of ${LOAD_METRICS.join(', ')}, got ${JSON.stringify(filter.metric)}`);
  }
  if (filter.bucketWidth !== undefined && !(filter.bucketWidth > 0 && Number.isFinite(filter.bucketWidth))) {
    throw new RangeError(`--bucket-width: expected a number > 0, got ${JSON.stringify(filter.bucketWidth)}`);
  }
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && !(filter.sinceMs < filter.untilMs)) {
    throw new RangeError(`--since must be before --until, got ${new Date(filter.sinceMs).toISOString()} and ${new Date(filter.untilMs).toISOString()}`);
  }
}

/**
 * Runs the report SQL files on a warehouse.
 * @throws {RangeError} from the constructor on a metric outside {@link LOAD_METRICS}, a
 *         non-positive bucket width, or since ≥ until (messages name the flag and value).
 */
export class ReportQueries {
  private readonly base: Record<string, QueryParam>;
  private edges: number[] | null = null;

  constructor(private readonly warehouse: Warehouse, readonly filter: ReportFilter) {
    checkReportFilter(filter);
    this.base = {
      since: filter.sinceMs === undefined ? ALL_FROM : msToDateTime64(filter.sinceMs),
      until: filter.untilMs === undefined ? ALL_UNTIL : msToDateTime64(filter.untilMs),
      server: filter.server ?? '',
      model: filter.model ?? '',
      chip: filter.chip ?? '',
      metric: filter.metric,
    };
  }

  /** Run `sql/reports/<name>.sql` with `${rows}` replaced by the subquery of `_rows.sql`. */
  private async run<T>(name: string, extra: Record<string, QueryParam> = {}): Promise<T[]> {
    const read = (file: string): string => readFileSync(join(REPORTS_DIR, file), 'utf8').replace(/^(--.*\n)+/, '');
    const sql = read(`${name}.sql`).replaceAll('${rows}', read('_rows.sql')).replaceAll('${database}', this.warehouse.database);
    const buckets = name === 'load_bucket_edges' || name === 'correlation_over_time' ? { edges: [], width: 0, width_m: '0', width_e: 0 } : await this.buckets();
    return this.warehouse.query<T>(sql, { ...this.base, ...buckets, ...extra });
  }

  /**
   * Bucket parameters: decile edges (computed once) or the fixed width, which must give at most
   * {@link MAX_BUCKETS} buckets over the rows' load range.
   * @throws {RangeError} naming --bucket-width, the bucket count and the smallest width allowed.
   */
  private async buckets(): Promise<{ edges: number[]; width: number; width_m: string; width_e: number }> {
    if (!this.edges) {
      const [row] = await this.run<{ edges: number[]; n: number; lo: number | null; hi: number | null }>('load_bucket_edges');
      this.edges = row?.edges ?? [];
      this.range = row && row.lo !== null && row.hi !== null ? { lo: row.lo, hi: row.hi } : null;
    }
    const w = this.filter.bucketWidth;
    if (w === undefined) return { edges: this.edges, width: 0, width_m: '0', width_e: 0 };
    if (this.range) {
      const { lo, hi } = this.range;
      const count = bucketCount(lo, hi, w);
      if (!(count <= MAX_BUCKETS)) {
        throw new RangeError(`--bucket-width: ${w} gives ${count < 1e15 ? count.toLocaleString('en-US') : Number.isFinite(count) ? `about ${count.toPrecision(2)}` : 'too many'} buckets over ${this.filter.metric} ${lo}..${hi}; at most ${MAX_BUCKETS} (a width of at least ${leastBucketWidth(lo, hi)})`);
      }
    }
    return { edges: [], width: w, ...decimalWidth(w) };
  }

  /** The rows' load range ({@link buckets} reads it), or null without rows. */
  private range: { lo: number; hi: number } | null = null;

  /** Decile edges of the metric (nearest rank, repeats removed); empty with fixed bins or no rows. */
  async bucketEdges(): Promise<number[]> {
    return (await this.buckets()).edges;
  }

  /** Requests with a load sample in the whole warehouse, whatever the filter (for a "nothing matched" message). */
  async allRequests(): Promise<number> {
    const [row] = await this.warehouse.query<{ n: number }>(`SELECT count() AS n FROM ${this.warehouse.database}.inference_enriched WHERE matched`);
    return Number(row?.n ?? 0);
  }

  /**
   * The servers, models and chips of the requests with a load sample in the whole warehouse, each sorted
   * (to tell a mistyped filter from one that matches nothing in the time range).
   */
  async knownIds(): Promise<{ servers: string[]; models: string[]; chips: string[] }> {
    const [row] = await this.warehouse.query<{ servers: string[]; models: string[]; chips: string[] }>(
      `SELECT arraySort(groupUniqArray(edge_server_id)) AS servers, arraySort(groupUniqArray(model_id)) AS models, arraySort(groupUniqArray(chip)) AS chips
       FROM ${this.warehouse.database}.inference_enriched WHERE matched`);
    return { servers: row?.servers ?? [], models: row?.models ?? [], chips: row?.chips ?? [] };
  }

  /** sql/reports/latency_by_load.sql. */
  async latencyByLoad(): Promise<LatencyBucketRow[]> {
    return this.run('latency_by_load');
  }

  /** sql/reports/io_compute_share.sql. */
  async ioComputeShare(): Promise<IoShareRow[]> {
    return this.run('io_compute_share');
  }

  /** sql/reports/load_sensitive_servers.sql: the `limit` strongest (server, model) pairs. */
  async loadSensitiveServers(limit = 10): Promise<SensitivityRow[]> {
    return this.run('load_sensitive_servers', { limit, min_rows: SENSITIVE_MIN_REQUESTS });
  }

  /** sql/reports/least_squares.sql. */
  async leastSquares(): Promise<LineRow[]> {
    return this.run('least_squares');
  }

  /** sql/reports/correlation_over_time.sql for the given (server, model) keys (all when empty). */
  async correlationOverTime(keys: readonly { edge_server_id: string; model_id: string }[] = []): Promise<CorrelationPoint[]> {
    return this.run('correlation_over_time', { metric_name: this.filter.metric, keys: keys.map((k) => `${k.edge_server_id}\t${k.model_id}`) });
  }

  /** sql/reports/scatter_sample.sql: about `target` points (a hash sample of the rows). */
  async scatterSample(totalRows: number, target = 1500): Promise<ScatterPoint[]> {
    const perMille = Math.min(1000, Math.max(1, Math.ceil((1000 * target) / Math.max(totalRows, 1))));
    return this.run('scatter_sample', { per_mille: perMille, limit: target });
  }
}
