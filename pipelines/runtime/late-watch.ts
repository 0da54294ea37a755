/**
 * A server whose records are mostly late: the usual cause is its clock running behind the clocks of the other
 * servers of its partition by more than the watermark's out-of-orderness bound (the partition's watermark follows
 * the newest event time of any of its servers, DESIGN §3). Every such record goes to `late_events` (nothing is
 * lost), but a whole server's telemetry missing from the joins and windows needs saying once, with the remedy.
 */

/** Least late records of one server before {@link LateShareWatch} says so. */
export const LATE_WARN_MIN = 20;
/** Least share (fraction 0..1) of one server's records that are late before {@link LateShareWatch} says so. */
export const LATE_WARN_SHARE = 0.5;

/**
 * Records of one server after which its tally is halved (records and late ones alike), so the share is of its recent
 * records: a server on time for 14 days at 1 record/s whose clock then fell behind needed 1.2 million late records
 * (336 hours) before the share reached a half (a long-run trial); now at most about this many.
 */
export const LATE_WINDOW_RECORDS = 10_000;

interface ServerTally { records: number; late: number; maxLagMs: number; warned: boolean; halved: boolean }

/** Per (input topic, server): records and late records seen by one processor run. */
export class LateShareWatch {
  private readonly tallies = new Map<string, ServerTally>();

  /**
   * @param boundMs  The processor's max out-of-orderness, ms (the watermark's lag behind the newest event time).
   * @param setting  Name of the setting of that bound, for the message (e.g. `EDGELAT_MAX_OUT_OF_ORDERNESS_MS`).
   */
  constructor(private readonly boundMs: number, private readonly setting: string) {}

  /**
   * Count one record of a server.
   * @param lagMs  For a late record, how far its event time is behind the watermark it missed, ms (≥ 0); else 0.
   * @returns The warning to log, once per topic and server and episode: when at least {@link LATE_WARN_MIN} of its
   *   records, and at least {@link LATE_WARN_SHARE} of them, were late (of its recent records: the tally, and the lag
   *   it says, are halved every {@link LATE_WINDOW_RECORDS}; a server named before whose share has fallen below the
   *   half by then may be named again); else null.
   */
  note(topic: string, partition: number, server: string, late: boolean, lagMs = 0): string | null {
    const id = `${topic}\u0000${server}`;
    let t = this.tallies.get(id);
    if (!t) this.tallies.set(id, (t = { records: 0, late: 0, maxLagMs: 0, warned: false, halved: false }));
    if (t.records >= LATE_WINDOW_RECORDS) {
      t.records = Math.floor(t.records / 2);
      t.late = Math.floor(t.late / 2);
      t.halved = true;
      // The lag said is of the records since (a re-test: an hour's lag of long ago beside today's 45 s), and a server
      // back on time may be named again when its clock falls behind once more.
      t.maxLagMs = 0;
      if (t.late < LATE_WARN_SHARE * t.records) t.warned = false;
    }
    t.records++;
    if (late) {
      t.late++;
      if (Number.isFinite(lagMs)) t.maxLagMs = Math.max(t.maxLagMs, lagMs);
    }
    if (t.warned || t.late < LATE_WARN_MIN || t.late < LATE_WARN_SHARE * t.records) return null;
    t.warned = true;
    const share = t.halved
      ? `about ${t.late.toLocaleString('en-US')} of the last ${t.records.toLocaleString('en-US')} ${topic} records of server ${JSON.stringify(server)} are late`
      : `${t.late} of the ${t.records} ${topic} records of server ${JSON.stringify(server)} so far are late`;
    return `${share} (up to ${(t.maxLagMs / 1000).toFixed(1)} s behind`
      + ` the watermark of partition ${partition}, which the newest event time of its servers sets): its clock likely runs behind`
      + ` theirs by more than ${named(this.setting, this.boundMs)}; sync its clock (NTP) or raise the bound. Its late records are in late_events`;
  }
}

const named = (name: string, ms: number): string => `${name} (${ms} ms)`;
