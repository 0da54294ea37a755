/** Latencies in the gate's messages, ms. */

/**
 * Two latencies compared in a message, ms, as `msText` unless that prints them alike although they
 * differ (a trial: "measured p99 10.1 ms …, above the SLO 10.1 ms"): then with more significant
 * digits, up to 9, until they read apart.
 */
export function distinctMs(a: number, b: number): [string, string] {
  if (a === b || msText(a) !== msText(b)) return [msText(a), msText(b)];
  // Up to 17 significant digits, which tell any two doubles apart (a re-test: 7.0679944 against an edge of
  // 7.067994398430909 read alike at the 9 digits this had stopped at).
  for (let digits = 4; digits <= 17; digits++) {
    const x = a.toPrecision(digits);
    const y = b.toPrecision(digits);
    if (x !== y) return [x, y];
  }
  return [a.toPrecision(17), b.toPrecision(17)];
}

/** A latency for a message, ms: one decimal from 10 ms up, else 3 significant digits (an SLO of 0.004 ms is not "0.0"). */
export function msText(x: number): string {
  return Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(3);
}
