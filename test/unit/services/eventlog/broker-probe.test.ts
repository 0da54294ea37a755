/**
 * BrokerProbe (`pipeline run`'s /healthz asking the cluster): an answer, an error, a hang, one request at a time,
 * and a late answer taken as of then, not now.
 */
import { describe, expect, it } from 'vitest';
import { BrokerProbe } from '../../../../services/eventlog/broker-probe.ts';
import { brokerDetails } from '../../../../services/cli/pipeline.ts';

/** A request the test answers by hand. */
function manual() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An `ask` whose every call is a request the test answers by hand, in `requests`. */
function manualRequests() {
  const requests: ReturnType<typeof manual>[] = [];
  return { requests, ask: () => { requests.push(manual()); return requests.at(-1)!.promise; } };
}

describe('BrokerProbe', () => {
  it('is ok when the cluster answers, with the time the answer took on the given clock', async () => {
    let clock = 1000;
    const probe = new BrokerProbe(async () => {
      clock += 7;
    }, 50, () => clock);
    expect(await probe.check()).toEqual({ ok: true, ms: 7 });
  });

  it('reports the client\'s error with the time since the cluster last answered, and asks again at the next check', async () => {
    let calls = 0;
    let clock = 0;
    const probe = new BrokerProbe(() => {
      calls++;
      if (calls === 1) return Promise.reject(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9'));
      if (calls === 2) throw new Error('thrown before any request');
      return Promise.resolve();
    }, 50, () => clock);
    clock = 1000;
    expect(await probe.check()).toEqual({ ok: false, ms: 0, error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9' });
    clock = 4000;
    expect(await probe.check()).toEqual({ ok: false, ms: 3000, error: 'thrown before any request' });
    expect(await probe.check()).toEqual({ ok: true, ms: 0 });
    expect(calls).toBe(3);
  });

  it('counts the wait from the last answer where there was one, not from the first check that failed (a trial: 3 ms some 20 s into an outage)', async () => {
    let clock = 0;
    let up = true;
    const probe = new BrokerProbe(() => (up ? Promise.resolve() : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9092'))), 50, () => clock);
    clock = 1000;
    expect(await probe.check()).toEqual({ ok: true, ms: 0 });
    up = false;
    clock = 21_000;
    expect(await probe.check()).toEqual({ ok: false, ms: 20_000, error: 'connect ECONNREFUSED 127.0.0.1:9092' });
    clock = 33_000;
    expect(await probe.check()).toEqual({ ok: false, ms: 32_000, error: 'connect ECONNREFUSED 127.0.0.1:9092' });
    up = true;
    expect(await probe.check()).toEqual({ ok: true, ms: 0 });
  });

  it('counts the wait from the first unanswered request through the client\'s own time-outs (a re-test: it fell back to 2 s every 30 s)', async () => {
    let clock = 0;
    const { requests, ask } = manualRequests();
    const probe = new BrokerProbe(ask, 20, () => clock);
    expect(await probe.check()).toEqual({ ok: false, ms: 0 });
    clock = 30_000;
    // The client gives the request up after its time-out: an error, then a new request that hangs too.
    requests[0]!.reject(new Error('Request Metadata(key: 3, version: 6) timed out'));
    await new Promise((r) => setTimeout(r, 5));
    expect(await probe.check()).toEqual({ ok: false, ms: 30_000 });
    clock = 45_000;
    expect(await probe.check()).toEqual({ ok: false, ms: 45_000 });
    expect(requests.length).toBe(2);
  });

  it('gives up waiting on a hung request after its time-out, waits on that same request at the next check, and asks anew after a late answer', async () => {
    let clock = 0;
    const { requests, ask } = manualRequests();
    const probe = new BrokerProbe(ask, 30, () => clock);
    clock = 100;
    const first = probe.check();
    clock = 130;
    expect(await first).toEqual({ ok: false, ms: 30 });
    clock = 5000;
    expect(await probe.check()).toEqual({ ok: false, ms: 4900 });
    expect(requests.length).toBe(1);
    // The hung request is answered between two checks (the stall ended): an answer of then; the next check asks again.
    requests[0]!.resolve();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 5));
    const third = probe.check();
    expect(requests.length).toBe(2);
    clock = 5003;
    requests[1]!.resolve();
    expect(await third).toEqual({ ok: true, ms: 3 });
  });

  it('answers a request under way that is answered while a check waits', async () => {
    let clock = 0;
    const r = manual();
    const probe = new BrokerProbe(() => r.promise, 10_000, () => clock);
    const check = probe.check();
    clock = 250;
    r.resolve();
    expect(await check).toEqual({ ok: true, ms: 250 });
  });

  it('refuses a time-out that is not a positive number', () => {
    expect(() => new BrokerProbe(async () => undefined, 0)).toThrow('BrokerProbe: timeoutMs must be a number > 0, got 0');
    expect(() => new BrokerProbe(async () => undefined, Number.NaN)).toThrow('BrokerProbe: timeoutMs must be a number > 0, got NaN');
  });
});

describe('brokerDetails (the broker in /healthz)', () => {
  it('names the answer, the error, the wait and the state before the first connection', () => {
    expect(brokerDetails(null)).toEqual({ error: 'connecting to the cluster' });
    expect(brokerDetails({ ok: true, ms: 4 })).toEqual({ answered_ms: 4 });
    expect(brokerDetails({ ok: false, ms: 2500, error: 'boom' })).toEqual({ waiting_ms: 2500, error: 'boom' });
    expect(brokerDetails({ ok: false, ms: 9012 })).toEqual({
      waiting_ms: 9012,
      error: 'the cluster has not answered a metadata request for 9.0 s (a hung or unreachable broker holds the processors until the client\'s request time-out)',
    });
  });
});
