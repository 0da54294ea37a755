/**
 * Lists of known names for "unknown X" messages: a catalog can hold hundreds
 * of chips (every MLPerf system), too many for one line.
 */
import { distance } from 'fastest-levenshtein';

/**
 * The known names nearest to `given` as message text: at most `max`, closest
 * first (Levenshtein edit distance, case-insensitive; ties keep the given
 * order), then how many were left out, e.g. `"jetson-agx-orin, jetson-xavier-nx, … 212 more"`.
 * @param known  Every known name. @param max  Names shown (≥ 1). @default 8
 */
export function nearestNames(given: string, known: readonly string[], max = 8): string {
  const g = given.toLowerCase();
  const shown = known
    .map((name, i) => ({ name, i, d: distance(g, name.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, Math.max(1, max))
    .map((x) => x.name);
  const more = known.length - shown.length;
  return more > 0 ? `${shown.join(', ')}, … ${more} more` : shown.join(', ');
}
