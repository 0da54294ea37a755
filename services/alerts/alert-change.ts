/**
 * Alert state changes: what the webhook receives and `alerts tail` prints.
 * A change is a correlation window whose alert state differs from the state
 * of the previous window of the same (server, model, x metric, y metric);
 * before a pair's first window its state is `none`.
 */
import { createHash } from 'node:crypto';
import type { CorrelationUpdate } from '../../schemas/types.ts';

/** The JSON body posted for one change (and one `alerts tail --json` line). Times are ISO 8601 UTC. */
export interface AlertChange {
  /** Stable across retries, restarts and replays: a hash of the pair, the window end and the two states. */
  idempotency_key: string;
  kind: 'edgelat.alert-state-change.v1';
  edge_server_id: string;
  model_id: string | null;
  chip: string | null;
  x_metric: string;
  y_metric: string;
  previous_state: string;
  state: string;
  window_start: string;
  window_end: string;
  n: number;
  pearson_r: number | null;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
  slope: number | null;
  /** Why r is null: as the correlation window's (`n_lt_3`, `x_constant`, …); `no_rows`: the server and model sent nothing in the window (they went quiet), else null. */
  null_reason: string | null;
}

/** The keys of {@link AlertChange} in their documented order (a JSON line lists them so, whatever built the change). */
export const ALERT_CHANGE_KEYS: string[] = [
  'idempotency_key', 'kind', 'edge_server_id', 'model_id', 'chip', 'x_metric', 'y_metric', 'previous_state', 'state',
  'window_start', 'window_end', 'n', 'pearson_r', 'ci_low', 'ci_high', 'p_value', 'slope', 'null_reason',
] satisfies (keyof AlertChange)[];

/**
 * The correlation scope whose windows post alert changes: one window per (server, model, pair) and time, as the
 * changes' keys and `alert_deliveries` identify them. Windows of the other scopes (EDGELAT_CORRELATION_SCOPES) carry
 * their alert_state in the correlation table only.
 */
export const ALERT_SCOPE = 'server×model';

/** Key of a (server, model, x metric, y metric) pair, collision-free for any id text. */
export function pairKey(u: { edge_server_id: string; model_id: string | null; x_metric: string; y_metric: string }): string {
  return JSON.stringify([u.edge_server_id, u.model_id, u.x_metric, u.y_metric]);
}

/**
 * The idempotency key of a change: the first 32 hex digits of SHA-256 over the pair, the
 * window end (epoch ms) and both states. The same change always has the same key.
 */
export function changeKey(u: { edge_server_id: string; model_id: string | null; x_metric: string; y_metric: string; window_end: number }, previous: string, state: string): string {
  return createHash('sha256').update(JSON.stringify([u.edge_server_id, u.model_id, u.x_metric, u.y_metric, u.window_end, previous, state])).digest('hex').slice(0, 32);
}

/**
 * The change a window makes, if any.
 * @param previous  State of the pair's previous window (`none` before its first).
 * @param u         The window (times in epoch ms).
 * @returns         The change, or null when the state is the same.
 */
export function alertChange(previous: string, u: CorrelationUpdate): AlertChange | null {
  if (u.alert_state === previous) return null;
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    idempotency_key: changeKey(u, previous, u.alert_state),
    kind: 'edgelat.alert-state-change.v1',
    edge_server_id: u.edge_server_id, model_id: u.model_id, chip: u.chip, x_metric: u.x_metric, y_metric: u.y_metric,
    previous_state: previous, state: u.alert_state,
    window_start: iso(u.window_start), window_end: iso(u.window_end),
    n: u.n, pearson_r: u.pearson_r, ci_low: u.ci_low, ci_high: u.ci_high, p_value: u.p_value, slope: u.slope, null_reason: u.null_reason,
  };
}

/**
 * Every change in a sequence of windows (any order across pairs; each pair's windows in window order); windows of
 * another scope than {@link ALERT_SCOPE} are passed over.
 * @returns The changes in input order.
 */
export function alertChanges(updates: Iterable<CorrelationUpdate>): AlertChange[] {
  const state = new Map<string, string>();
  const out: AlertChange[] = [];
  for (const u of updates) {
    if (u.scope !== ALERT_SCOPE) continue;
    const k = pairKey(u);
    const c = alertChange(state.get(k) ?? 'none', u);
    state.set(k, u.alert_state);
    if (c) out.push(c);
  }
  return out;
}
