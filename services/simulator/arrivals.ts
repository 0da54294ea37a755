/**
 * Request arrivals of the fleet, replayed from the real Azure LLM inference
 * trace (merged code + conversation files; Patel et al., "Splitwise", ISCA 2024).
 *
 * Replay rule: the trace (period P ≈ 58.6 min) is time-compressed onto the run,
 * by s = min(1, durationMs / P), so one trace period fills the run (longer runs
 * play it at real speed and wrap around). Its shape — minute-scale swings of
 * about 4× and second-scale bursts — is kept. The fleet needs Λ requests/s in
 * total (sum of the planned server rates × rateScale), so each trace request
 * stands for k = Λ·P·s / N requests: floor(k) plus one more with probability
 * frac(k), placed uniformly between it and the next trace request. Each
 * request then goes to a server — by `routing`: `'random'`, an independent
 * draw with probability rate_s / Λ (unequal shares; a burst of the trace lands
 * unevenly), or `'smooth'`, smooth weighted round-robin (nginx's upstream
 * algorithm: each server's credit grows by its rate, the request goes to the
 * highest credit, which then pays Λ; after any number of requests every
 * server has served its share rate_s / Λ of them within about one request,
 * as behind a load balancer) —
 * and to one of that server's models by the server's model weights. Its input
 * size comes from the ContextTokens of its trace row (copies beyond the first
 * borrow the tokens of a random trace row).
 */
import type { ArrivalTrace } from './data.ts';
import type { ServerPlan } from './fleet.ts';
import { createRng } from './prng.ts';

/** All requests of a run in ts order (struct of arrays). */
export interface RequestStream {
  /** Number of requests. */
  n: number;
  /** Request arrival, epoch ms UTC (integer), non-decreasing. */
  ts: Float64Array;
  /** Index of the server in the fleet. */
  server: Int32Array;
  /** Index of the model in the server's `models`. */
  model: Int32Array;
  /** ContextTokens of the trace row the request was drawn from. */
  tokens: Int32Array;
}

/** How a request picks its server: an independent weighted draw, or smooth weighted round-robin (a load balancer). */
export type Routing = 'random' | 'smooth';

/**
 * Generate the requests of a run.
 *
 * @param seed         Run seed (stream `'arrivals'`).
 * @param startMs      Epoch ms UTC of the run start.
 * @param durationMs   Event-time span, ms; requests have ts in [startMs, startMs + durationMs).
 * @param rateScale    Multiplier of every server rate.
 * @param plans        The fleet.
 * @param trace        The merged trace.
 * @param routing      Server choice (see the module comment). @default 'random'
 * @returns            Requests sorted by ts (ties in generation order).
 * @throws {RangeError} when `trace.periodMs` is not > 0 (the loop over the trace would not end).
 */
export function generateRequests(
  seed: number, startMs: number, durationMs: number, rateScale: number,
  plans: readonly ServerPlan[], trace: ArrivalTrace, routing: Routing = 'random',
): RequestStream {
  if (!(trace.periodMs > 0)) throw new RangeError(`trace.periodMs: expected > 0 ms (the trace is looped over the run), got ${trace.periodMs}`);
  const rng = createRng(seed, 'arrivals');
  const n = trace.offsetMs.length;
  const totalPerS = plans.reduce((a, p) => a + p.ratePerS, 0) * rateScale;
  const s = Math.min(1, durationMs / trace.periodMs);
  const loopMs = s < 1 ? durationMs : trace.periodMs;
  const k = (totalPerS / 1000) * loopMs / n;
  const whole = Math.floor(k);
  const frac = k - whole;
  const cumServer = cumulative(plans.map((p) => p.ratePerS));
  const cumModel = plans.map((p) => cumulative(p.modelWeights));
  const nextServer = routing === 'smooth' ? smoothRoundRobin(plans.map((p) => p.ratePerS)) : () => pick(cumServer, rng.next());
  const cap = Math.ceil(totalPerS * durationMs / 1000 * 1.2) + 1024;
  let ts = new Float64Array(cap);
  let server = new Int32Array(cap);
  let model = new Int32Array(cap);
  let tokens = new Int32Array(cap);
  let count = 0;
  const offs: number[] = [];
  for (let loop = 0; loop * loopMs < durationMs; loop++) {
    const base = loop * loopMs;
    for (let i = 0; i < n; i++) {
      const tau = base + trace.offsetMs[i] * s;
      if (tau >= durationMs) break;
      const next = base + (i + 1 < n ? trace.offsetMs[i + 1] * s : loopMs);
      const gap = next - tau;
      const m = whole + (rng.next() < frac ? 1 : 0);
      if (m === 0) continue;
      offs.length = 0;
      for (let j = 0; j < m; j++) offs.push(j === 0 ? 0 : rng.next() * gap);
      offs.sort((a, b) => a - b);
      for (let j = 0; j < m; j++) {
        const t = tau + offs[j];
        if (t >= durationMs) break;
        if (count === ts.length) {
          ts = grow(ts);
          server = grow(server);
          model = grow(model);
          tokens = grow(tokens);
        }
        const sv = nextServer();
        ts[count] = startMs + Math.floor(t);
        server[count] = sv;
        model[count] = pick(cumModel[sv], rng.next());
        tokens[count] = j === 0 ? trace.contextTokens[i] : trace.contextTokens[rng.int(n)];
        count++;
      }
    }
  }
  return { n: count, ts: ts.slice(0, count), server: server.slice(0, count), model: model.slice(0, count), tokens: tokens.slice(0, count) };
}

/**
 * Smooth weighted round-robin (nginx, ngx_http_upstream_get_peer): per call every
 * credit grows by its weight, the highest credit (lowest index on ties) is
 * chosen and pays the weights' total.
 * @param weights  Non-negative weights, at least one positive.
 * @returns        A picker of the next index.
 */
function smoothRoundRobin(weights: readonly number[]): () => number {
  const credit = new Float64Array(weights.length);
  const total = weights.reduce((a, b) => a + b, 0);
  return () => {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      credit[i] += weights[i]!;
      if (credit[i]! > credit[best]!) best = i;
    }
    credit[best] -= total;
    return best;
  };
}

function cumulative(weights: readonly number[]): Float64Array {
  const c = new Float64Array(weights.length);
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] / total;
    c[i] = acc;
  }
  c[weights.length - 1] = 1;
  return c;
}

function pick(cum: Float64Array, u: number): number {
  let i = 0;
  while (i < cum.length - 1 && u >= cum[i]) i++;
  return i;
}

function grow<T extends Float64Array | Int32Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}
