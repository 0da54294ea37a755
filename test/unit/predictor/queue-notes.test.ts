/**
 * `predict`'s notes on how a load reaches the total's queue (a trial: resnet50 at requests_per_s=40 on a chip that
 * serves about 10 a second answered its idle p99, 115 ms, with no note).
 */
import { describe, expect, it } from 'vitest';
import { busyWorkers, impliedServiceText, inputSpreadNotes, loadNotes, queueNotes, serverSpreadNotes } from '../../../services/predictor/latency-predictor.ts';
import { LOAD_FEATURES } from '../../../services/model/telemetry.ts';

describe('queueNotes', () => {
  it('says a rate without gpu_util is read at an idle queue, and when the rate keeps more than one worker busy', () => {
    // Utilisation law: 40 req/s × (5 + 91) ms = 3.84 workers busy on average.
    expect(queueNotes({ requests_per_s: 40 }, 5, 91)).toEqual([
      'requests_per_s=40 with gpu_util 0 or none: the total follows the queue at gpu_util (the busy-worker fraction, 0..1), here its lowest decile, with the waits of the requests there; requests_per_s moves only the i/o and compute: give gpu_util for the queue at this load',
      'requests_per_s=40 at 96 ms of i/o and compute per request keeps 3.84 workers busy on average (utilisation law): a device serving fewer requests at once cannot drain its queue at this rate, and no percentile holds there',
    ]);
    // With gpu_util the queue is read there; 10 req/s × 96 ms = 0.96 of one worker: nothing to say.
    expect(queueNotes({ requests_per_s: 10, gpu_util: 0.9 }, 5, 91)).toEqual([]);
    // With a device's workers known, the rate is said when it keeps all of them busy: 3.84 < 4 workers drains, and
    // gpu_util 0.97 is at least the 3.84 / 4 = 0.96 busy it makes: nothing to say.
    expect(queueNotes({ requests_per_s: 40, gpu_util: 0.97 }, 5, 91, 4)).toEqual([]);
    // A gpu_util below that fraction reads a lighter queue than the rate makes: said, with the fraction to give (a trial:
    // 800 req/s at gpu_util 0.2 kept 1.55 of 2 workers busy and answered the p99 of 40 req/s).
    expect(queueNotes({ requests_per_s: 40, gpu_util: 0.9 }, 5, 91, 4)).toEqual([
      'requests_per_s=40 at 96 ms of i/o and compute per request keeps 3.84 of the 4 workers a device of the chip serves at once busy on average (utilisation law): a busy-worker fraction of 0.96, above gpu_util=0.9; the total follows the queue at gpu_util: give gpu_util=0.96 for the queue at this rate',
    ]);
    expect(queueNotes({ requests_per_s: 40, gpu_util: 0.9 }, 5, 91, 3)).toEqual([
      'requests_per_s=40 at 96 ms of i/o and compute per request keeps 3.84 workers busy on average (utilisation law): at least the 3 requests a device of the chip serves at once (the most the fleet data shows; the load\'s concurrency on a chip without fleet data): its queue cannot drain at this rate, and no percentile holds there',
    ]);
    // A concurrency above the chip's workers is said to be requests in the device, not workers (a trial: concurrency=20
    // on a chip whose fleet shows 1 at once read as ignored).
    expect(queueNotes({ requests_per_s: 40, gpu_util: 0.9, concurrency: 20 }, 5, 91, 1)).toEqual([
      'requests_per_s=40 at 96 ms of i/o and compute per request keeps 3.84 workers busy on average (utilisation law): a device serving fewer requests at once cannot drain its queue at this rate, and no percentile holds there (concurrency=20 is taken as requests in the device, waiting ones included, not as workers: the chip\'s fleet data shows at most 1 served at once)',
    ]);
    expect(queueNotes({ requests_per_s: 40, gpu_util: 0.9, concurrency: 3 }, 5, 91, 3)[0]).not.toContain('is taken as requests in the device');
    expect(busyWorkers({ requests_per_s: 40 }, 5, 91)).toBeCloseTo(3.84, 12);
    // Exactly one worker's time is the boundary (ρ = 1 cannot drain), said in the singular.
    expect(queueNotes({ requests_per_s: 10, gpu_util: 0.9 }, 10, 90)).toEqual([expect.stringMatching(/^requests_per_s=10 at 100 ms of i\/o and compute per request keeps 1 worker busy on average/)]);
    // Several queue-blind fields are named together; none given, nothing said.
    expect(queueNotes({ queue_depth: 4, concurrency: 2 }, 1, 1)[0]).toMatch(/^queue_depth=4, concurrency=2 with gpu_util 0 or none: .*; queue_depth and concurrency move only the i\/o and compute/);
    expect(queueNotes({}, 5, 91)).toEqual([]);
    expect(queueNotes({ gpu_util: 0.5, cpu_util: 0.3 }, 5, 91)).toEqual([]);
    // gpu_util given as 0 is an idle queue too, said so.
    expect(queueNotes({ requests_per_s: 2, gpu_util: 0 }, 5, 91)[0]).toMatch(/^requests_per_s=2 with gpu_util 0 or none: /);
  });

  it('takes a rate the chip\'s servers served as served, not as a queue that cannot drain (a trial: 94 of 9,059 held-out fleet requests had no percentile)', () => {
    // 3.3 req/s × 310 ms = 1.023 workers if every request were this model's; the servers of the chip served up to 4 req/s
    // of all their models (a load sample's rate is the server's).
    expect(queueNotes({ requests_per_s: 3.3, gpu_util: 0.52 }, 5, 305, 1, 4)).toEqual([
      'requests_per_s=3.3 at 310 ms of i/o and compute per request would keep 1.02 workers busy on average (utilisation law) if every request were this model\'s; the fleet\'s servers of the chip served up to 4 req/s (a load sample\'s rate counts every model\'s requests), so the answer stands on their data, where this model\'s share of the rate set its queue',
    ]);
    // Served only in bursts: the servers' busiest minute averaged less (a trial: "served up to 52 req/s" where the
    // busiest minute averaged 9.55, and the fleet measured p99 4.9 s at 40 req/s and more).
    expect(queueNotes({ requests_per_s: 3.3, gpu_util: 0.52 }, 5, 305, 1, 4, 2.25)).toEqual([
      'requests_per_s=3.3 at 310 ms of i/o and compute per request would keep 1.02 workers busy on average (utilisation law) if every request were this model\'s; the fleet\'s servers of the chip served up to 4 req/s (a load sample\'s rate counts every model\'s requests), so the answer stands on their data, where this model\'s share of the rate set its queue; '
      + 'but only in bursts: their busiest minute averaged 2.25 req/s, so these are the percentiles of requests that came in such a burst, and as a sustained rate its queue could not drain',
    ]);
    // Without gpu_util the percentiles are the lowest decile's (the first note): the rate's data is not claimed for them
    // (a trial: "stands on their data" beside the idle p99 at 50 req/s).
    expect(queueNotes({ requests_per_s: 3.3 }, 5, 305, 1, 4, 2.25)[1]).toBe(
      'requests_per_s=3.3 at 310 ms of i/o and compute per request would keep 1.02 workers busy on average (utilisation law) if every request were this model\'s; the fleet\'s servers of the chip served up to 4 req/s (a load sample\'s rate counts every model\'s requests), '
      + 'only in bursts: their busiest minute averaged 2.25 req/s, as a sustained rate its queue could not drain');
    expect(queueNotes({ requests_per_s: 3.3 }, 5, 305, 1, 4)[1]).toBe(
      'requests_per_s=3.3 at 310 ms of i/o and compute per request would keep 1.02 workers busy on average (utilisation law) if every request were this model\'s; the fleet\'s servers of the chip served up to 4 req/s (a load sample\'s rate counts every model\'s requests)');
    // At or below the busiest minute's rate, nothing more is said.
    expect(queueNotes({ requests_per_s: 3.3, gpu_util: 0.52 }, 5, 305, 1, 4, 3.3)[0]).toMatch(/set its queue$/);
    // Above what they served, the law's verdict holds.
    expect(queueNotes({ requests_per_s: 3.3, gpu_util: 0.52 }, 5, 305, 1, 3)).toEqual([
      'requests_per_s=3.3 at 310 ms of i/o and compute per request keeps 1.02 workers busy on average (utilisation law): a device serving fewer requests at once cannot drain its queue at this rate, and no percentile holds there',
    ]);
  });
});

describe('loadNotes', () => {
  it('notes a load above the most measured on the chip, and any load on a chip the fleet never ran (a trial: "above the most … (never measured)")', () => {
    const maxima = LOAD_FEATURES.map((k) => (k === 'gpu_util' ? 0.8 : 10));
    expect(loadNotes('c', { gpu_util: 0.9, requests_per_s: 5 }, maxima)).toEqual([
      'gpu_util=0.9 is above the most the fleet data shows on c (0.8): the model holds its answer at the edge of what it was trained on, so the latency there is a lower bound',
    ]);
    expect(loadNotes('nvidia-t4', { requests_per_s: 2, gpu_util: 0 }, LOAD_FEATURES.map(() => null))).toEqual([
      'requests_per_s=2: the fleet data has no request on nvidia-t4: how requests_per_s slows it is learned from other chips (an extrapolation, not a measurement of this one)',
    ]);
    expect(loadNotes('c', { gpu_util: 0.8 }, maxima)).toEqual([]);
  });
});

describe('serverSpreadNotes and inputSpreadNotes', () => {
  it('name the fleet\'s servers of the chip whose p99 is more than 1.25× off the typical server\'s, farthest first, at most three', () => {
    // A trial: 115 ms for the typical server, where the one Rockchip server that ran resnet50 had 312 ms.
    expect(serverSpreadNotes('resnet50', 'rk3588-mali-g610', 115, [{ server: 'edge-05', p99: 312 }])).toEqual([
      'the p99 is the chip\'s typical server\'s (a new server\'s); the fleet\'s servers that ran resnet50 on rk3588-mali-g610 have their own queues (other models, other loads): edge-05 312 ms at this load (--server for one)',
    ]);
    const five = [{ server: 'a', p99: 100 }, { server: 'b', p99: 60 }, { server: 'c', p99: 130 }, { server: 'd', p99: 240 }, { server: 'e', p99: 101 }];
    expect(serverSpreadNotes('m', 'c1', 100, five)[0]).toMatch(/: d 240 ms, b 60 ms, c 130 ms and 2 more at this load \(--server for one\)$/);
    // Within 1.25× either way (ln 1.25 = 0.223): nothing said.
    expect(serverSpreadNotes('m', 'c1', 100, [{ server: 'a', p99: 124 }, { server: 'b', p99: 81 }])).toEqual([]);
    expect(serverSpreadNotes('m', 'c1', 100, [])).toEqual([]);
  });

  it('names the sizes a model\'s requests span only when p90/p10 is above 2', () => {
    expect(inputSpreadNotes('retinanet', { median: 1959375, p10: 375000, p90: 7565625 })).toEqual([
      'the percentiles are at input_bytes=1959375, the median of retinanet\'s requests, which span 375000–7565625 bytes (p10–p90) in the fleet data: the i/o grows with the size, so over all of its requests they are wider; --input-bytes (input_bytes over HTTP) for another size',
    ]);
    expect(inputSpreadNotes('m', { median: 100, p10: 60, p90: 120 })).toEqual([]);
    expect(inputSpreadNotes('m', null)).toEqual([]);
  });
});

describe('impliedServiceText (a chip without fleet data: the waits follow the service the load implies)', () => {
  it('says the implied service, its ratio to the model\'s and the gpu_util the model alone would make, past 3x (utilisation law: E[S] = gpu_util * workers / rate)', () => {
    // 0.2 * 1 / 2 req/s = 100 ms against 2.9 ms: 34.5x; the model alone: 2 * 2.9 / 1000 = 0.0058.
    expect(impliedServiceText({ gpu_util: 0.2, requests_per_s: 2 }, 1, 2.9)).toBe("; gpu_util=0.2 at requests_per_s=2 implies 100 ms of service per request (utilisation law), 34.5× this model's 2.9 ms on the chip, and the waits are scaled to it (other work on the device); this model alone at that rate would make gpu_util 0.0058");
    // Two workers double it: 200 ms.
    expect(impliedServiceText({ gpu_util: 0.2, requests_per_s: 2 }, 2, 2.9)).toMatch(/implies 200 ms of service per request/);
    // Within 3x (0.2 / 20 req/s = 10 ms against 4 ms), or no rate, or no gpu_util: nothing.
    expect([impliedServiceText({ gpu_util: 0.2, requests_per_s: 20 }, 1, 4), impliedServiceText({ gpu_util: 0.2 }, 1, 4), impliedServiceText({ requests_per_s: 2 }, 1, 4)]).toEqual(['', '', '']);
  });
});
