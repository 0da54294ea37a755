/**
 * The report's charts: Vega-Lite specs rendered to SVG in Node (vega's
 * headless View, no browser, no network). Each function returns a spec; one
 * {@link renderSvg} turns any spec into a self-contained `<svg>` element.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CorrelationPoint, IoShareRow, LatencyBucketRow, LineRow, ScatterPoint } from './report-queries.ts';

/** A Vega-Lite spec with the report's defaults. */
export type ChartSpec = TopLevelSpec;

/**
 * The report's chart defaults. Marks carry no ARIA attributes (a trial: 1,764 labelled points for a screen reader to walk;
 * the chart is one image named by its description: {@link renderSvg}). Legends show every entry with its whole label (a
 * trial: "…67 entries" and labels cut at 160 px; a re-test: a 64-character id cut at 400), their symbols opaque (the
 * rolling r's took its band's 0.18).
 */
const BASE = {
  background: 'white',
  config: { font: 'sans-serif', view: { stroke: '#ddd' }, mark: { aria: false }, legend: { labelLimit: 1000, symbolLimit: 1000, symbolOpacity: 1 } },
} as const;

/** Vega's default categorical palette (tableau10), in its order. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'] as const;

/** The fleet's line in the i/o chart: grey, apart from every chip's colour. */
const FLEET_COLOUR = '#7f7f7f';

/**
 * Colour and shape scales that give each chip the same colour and shape in every chart of a report: the chips in id
 * order, each the palette's next colour (a trial: the i/o chart's "fleet" took the first colour, and every chip moved
 * one along from the scatter's). Past 10 chips the colours repeat (the shapes and dashes still differ).
 * @param chips  Every chip of the report (repeats ignored).
 * @param extra  A series after the chips with a colour of its own (the i/o chart's fleet line).
 */
function chipScales(chips: readonly string[], extra?: { name: string; colour: string }): { color: { domain: string[]; range: string[] }; shape: { domain: string[]; range: string[] } } {
  const sorted = [...new Set(chips)].sort();
  const domain = extra ? [...sorted, extra.name] : sorted;
  return {
    color: { domain, range: [...sorted.map((_, i) => PALETTE[i % PALETTE.length]!), ...(extra ? [extra.colour] : [])] },
    // The extra series' shape is its own in every report (a re-test: the fleet's was the shape after the last chip's).
    shape: { domain, range: [...sorted.map((_, i) => CHIP_SHAPES[i % CHIP_SHAPES.length]!), ...(extra ? [EXTRA_SHAPE] : [])] },
  };
}

/** Point shapes of the chips, in order (Vega's symbol shapes but the extra series'). */
const CHIP_SHAPES = ['circle', 'square', 'triangle-up', 'cross', 'diamond', 'triangle-right', 'triangle-left'] as const;

/** The point shape of a series after the chips (the i/o chart's fleet line). */
const EXTRA_SHAPE = 'triangle-down';

/** A legend whose entries are strokes long enough to show their dash. */
const STROKE_LEGEND = { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2 } as const;

/** The SLO rule's colour: dark grey, apart from every series colour (a trial: the red p99 line beside a firebrick rule). */
const SLO_COLOUR = '#333';

const escAttr = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * Render a Vega-Lite spec to SVG text: one image for assistive technology (`role="img"`), named by the spec's
 * `description` (`aria-label`, and a `<title>` that browsers show on hover).
 * @throws {Error} from vega-lite / vega on an invalid spec (a bug here, not bad data).
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  // Loaded on first use: vega is about 300 modules, and every edgelat command would otherwise load it at start-up.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const label = spec.description;
    if (label === undefined) return svg;
    return svg.replace(/^<svg\b([^>]*)>/, (_, attrs: string) => `<svg role="img" aria-label="${escAttr(label)}"${attrs}><title>${escAttr(label)}</title>`);
  } finally {
    view.finalize();
  }
}

/** Ids in a chart's description: the first `max`, then how many more (a description is a sentence, not a table). */
function someIds(ids: readonly string[], max = 6): string {
  const distinct = [...new Set(ids)];
  return distinct.length <= max ? distinct.join(', ') : `${distinct.slice(0, max).join(', ')} and ${distinct.length - max} more`;
}

/** How a chart's description writes a load and a latency: as the table beside it does (a trial: "p99 is 5070 ms" beside 5,073.0). */
export interface DescriptionFormat {
  load(x: number): string;
  ms(x: number): string;
}

/** 3 significant digits, for a chart drawn without its table. */
const PLAIN_FORMAT: DescriptionFormat = { load: (x) => String(Number(x.toPrecision(3))), ms: (x) => String(Number(x.toPrecision(3))) };

/**
 * Fleet p50 / p90 / p99 (ms, log scale) against the largest load seen in each bucket (a decile's upper edge; not a fixed bin's edge), with the SLO as a rule.
 * @param format  How the description writes the highest load and its p99 (the report's table formats). @default 3 significant digits
 */
export function percentileCurves(fleet: readonly LatencyBucketRow[], metric: string, sloP99Ms?: number, scope: string | null = null, format: DescriptionFormat = PLAIN_FORMAT): ChartSpec {
  const values = fleet.flatMap((r) => (['p50_ms', 'p90_ms', 'p99_ms'] as const).map((p) => ({ load: r.load_high, ms: r[p], percentile: p.replace('_ms', '') })));
  // Each percentile has its own dash and point shape besides its colour (a trial: colour alone; in a one-request report
  // the three points fell on one another and only the last showed).
  const percentile = { field: 'percentile', type: 'nominal', sort: ['p50', 'p90', 'p99'] };
  const layers: object[] = [{
    mark: { type: 'line', point: { filled: false, size: 50 } },
    encoding: {
      x: { field: 'load', type: 'quantitative', title: `${metric} (largest load seen in the bucket)` },
      y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency, ms (nearest rank)' },
      color: percentile, shape: percentile, strokeDash: { ...percentile, scale: { range: [[1, 0], [6, 3], [2, 2]] } },
    },
  }];
  if (sloP99Ms !== undefined) layers.push(...sloRule(sloP99Ms));
  const top = fleet.at(-1);
  const description = `Line chart of p50, p90 and p99 latency in ms (log scale) against ${metric}, over ${fleet.length} load buckets${scope ? ` (${scope})` : ''}`
    + `${top ? `; at the highest load, ${format.load(top.load_high)}, p99 is ${format.ms(top.p99_ms)} ms` : ''}${sloP99Ms !== undefined ? `; the SLO, p99 ${sloP99Ms} ms, is a dashed rule` : ''}. The table "${scope ? `Latency by load (${scope})` : 'Fleet latency by load'}" gives the numbers.`;
  return { ...BASE, description, title: scope ? `Latency percentiles against load (${scope})` : 'Fleet latency percentiles against load', width: 520, height: 260, data: { values }, layer: layers } as ChartSpec;
}

/**
 * The SLO as a labelled rule (a trial: an unlabelled red dashed line): a dashed line at the SLO and its text at the
 * left edge, above it.
 * @param sloP99Ms  The SLO, ms.
 */
function sloRule(sloP99Ms: number): object[] {
  // One row a chart (a facet's cell too): a layer of the chart's data drew the rule and its label once per row (a trial:
  // 181 copies, the label bold and blurred).
  const one = [{ aggregate: [{ op: 'count', as: 'rows' }] }];
  return [
    { transform: one, mark: { type: 'rule', color: SLO_COLOUR, strokeDash: [4, 3] }, encoding: { y: { datum: sloP99Ms } } },
    { transform: one, mark: { type: 'text', color: SLO_COLOUR, align: 'left', baseline: 'bottom', dx: 3, dy: -2, fontSize: 10 }, encoding: { x: { value: 0 }, y: { datum: sloP99Ms }, text: { value: `SLO p99 ${sloP99Ms} ms` } } },
  ];
}

/**
 * One small chart per chip: p99 (ms, log scale) of each model against load, with the SLO as a labelled rule. Buckets of
 * fewer than `minRequests` requests are drawn as hollow points (their p99 is little more than their slowest request: a
 * trial read a resnet50 falling to 2.8 ms at the highest load, the largest of 8 requests); the subtitle says so.
 * @param minRequests  Fewest requests of a bucket drawn filled. @default 1 (all filled)
 */
export function p99PerChip(rows: readonly LatencyBucketRow[], metric: string, sloP99Ms?: number, minRequests = 1): ChartSpec {
  const values = rows.filter((r) => r.chip !== '*').map((r) => ({ chip: r.chip, model: r.model_id, load: r.load_high, p99: r.p99_ms, thin: r.n < minRequests }));
  const x = { field: 'load', type: 'quantitative', title: metric };
  const y = { field: 'p99', type: 'quantitative', scale: { type: 'log' }, title: 'p99, ms' };
  const color = { field: 'model', type: 'nominal' };
  // A shape per model besides its colour: ten colours repeat past ten models, a colour and a shape together past forty.
  const layers: object[] = [
    { mark: { type: 'line' }, encoding: { x, y, color } },
    { mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y, color, shape: color, stroke: color, fillOpacity: { condition: { test: 'datum.thin', value: 0 }, value: 1 } } },
  ];
  if (sloP99Ms !== undefined) layers.push(...sloRule(sloP99Ms));
  const thin = values.filter((v) => v.thin).length;
  const chips = values.map((v) => v.chip);
  return {
    ...BASE,
    description: `Small line charts, one per chip (${someIds(chips)}), of each model's p99 latency in ms (log scale) against ${metric}`
      + `${sloP99Ms !== undefined ? `, with the SLO, p99 ${sloP99Ms} ms, as a dashed rule` : ''}; ${new Set(values.map((v) => v.model)).size} models.${sloP99Ms !== undefined ? ' The table "SLO knee" says where each chip and model first exceeds the SLO.' : ''}`,
    title: thin === 0 ? 'p99 against load, one chart per chip' : { text: 'p99 against load, one chart per chip', subtitle: `hollow points: ${thin} bucket(s) of fewer than ${minRequests} requests (a p99 of so few is little more than the slowest one)` },
    data: { values },
    facet: { field: 'chip', type: 'nominal', title: null }, columns: 3,
    spec: { width: 200, height: 130, layer: layers },
    resolve: { scale: { y: 'independent' } },
  } as ChartSpec;
}

/**
 * Sampled (load, latency) points per chip on a log latency axis, with each chip's
 * least-squares line fitted on all rows (drawn through 24 points of its load range, so it
 * shows as the curve a straight line is on a log axis; the part at or below 0 ms is left out).
 */
export function scatterWithLines(points: readonly ScatterPoint[], lines: readonly LineRow[], metric: string, chips: readonly string[] = [...points.map((p) => p.chip), ...lines.map((l) => l.chip)]): ChartSpec {
  const scales = chipScales(chips);
  const segs = lines.flatMap((l) => Array.from({ length: 24 }, (_, i) => l.load_min + ((l.load_max - l.load_min) * i) / 23)
    // From the line's value at load_min: intercept + slope·x cancels digits where loads sit far from 0 (a re-test: rates
    // near 1e9, 70 ms off).
    .map((x) => ({ chip: l.chip, x, y: l.latency_at_load_min_ms + l.slope_ms_per_unit * (x - l.load_min) }))
    .filter((p) => p.y > 0));
  return {
    description: `Scatter chart of ${points.length} sampled requests' total latency in ms (log scale) against ${metric}, coloured by chip (${someIds(points.map((p) => p.chip))}), with each chip's least-squares line.`,
    // Said on the chart (a trial read the curves as a nonlinear fit, and a line starting past load_min as cut short).
    ...BASE, title: [`Latency against ${metric}: a sample of requests, least-squares line per chip`, 'each line is straight in ms: curved on this log axis, and drawn where it is above 0 ms'], width: 520, height: 300,
    layer: [
      { data: { values: points.filter((p) => p.total_ms > 0).map((p) => ({ chip: p.chip, x: p.x, y: p.total_ms })) }, mark: { type: 'point', opacity: 0.35, size: 12, filled: true },
        encoding: { x: { field: 'x', type: 'quantitative', title: metric }, y: { field: 'y', type: 'quantitative', scale: { type: 'log' }, title: 'total latency, ms (log)' }, color: { field: 'chip', type: 'nominal', scale: scales.color }, shape: { field: 'chip', type: 'nominal', scale: scales.shape } } },
      // Each chip's line dashed its own way too (a re-test: told apart by colour alone).
      { data: { values: segs }, mark: { type: 'line', strokeWidth: 2 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'chip', type: 'nominal', scale: scales.color }, strokeDash: { field: 'chip', type: 'nominal', scale: { domain: scales.shape.domain } } } },
    ],
  } as ChartSpec;
}

/** Rolling Pearson r over time with its 95 % CI band, one colour per (server, model) key. */
export function rollingR(points: readonly CorrelationPoint[], metric: string): ChartSpec {
  const values = points.filter((p) => p.pearson_r !== null).map((p) => ({
    key: `${p.edge_server_id} / ${p.model_id ?? ''}`, t: Date.parse(`${p.window_end.replace(' ', 'T')}Z`), r: p.pearson_r, lo: p.ci_low, hi: p.ci_high,
  }));
  const x = { field: 't', type: 'temporal', scale: { type: 'utc' }, title: 'window end (UTC)' };
  return {
    description: `Line chart of the rolling Pearson r of ${metric} and total latency over time, with its 95 % confidence band, for ${someIds(values.map((v) => v.key))} (server / model).`,
    ...BASE, title: `Rolling r of ${metric} and total latency, with the 95 % CI`, width: 520, height: 260, data: { values },
    layer: [
      // The legend is the lines' alone, each entry a stroke in its colour and dash (a trial: the band's filled circles hid
      // the dashes, so the key told the series apart by colour alone); the band's fill takes the same colours (one domain,
      // one palette) in the same legend, whose strokes show no fill.
      { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { domain: [-1, 1] }, title: 'Pearson r' }, y2: { field: 'hi' }, fill: { field: 'key', type: 'nominal', title: 'server / model', legend: STROKE_LEGEND } } },
      { mark: { type: 'line' }, encoding: { x, y: { field: 'r', type: 'quantitative' }, color: { field: 'key', type: 'nominal', title: 'server / model', legend: STROKE_LEGEND }, strokeDash: { field: 'key', type: 'nominal', title: 'server / model', legend: STROKE_LEGEND } } },
    ],
  } as ChartSpec;
}

/** Share of i/o wait in service time, i/o / (i/o + compute) (fraction 0..1; queue wait left out), against load, one line per chip and the fleet. */
export function ioShare(rows: readonly IoShareRow[], metric: string, allLabel = 'fleet', chips: readonly string[] = rows.filter((r) => r.chip !== '*').map((r) => r.chip)): ChartSpec {
  const values = rows.filter((r) => r.io_share !== null).map((r) => ({ chip: r.chip === '*' ? allLabel : r.chip, load: r.load_high, share: r.io_share }));
  // The fleet (or "all") series only where it is drawn (a re-test: its legend entry stayed when the report left it out).
  const scales = chipScales(chips.filter((c) => c !== allLabel), values.some((v) => v.chip === allLabel) ? { name: allLabel, colour: FLEET_COLOUR } : undefined);
  return {
    description: `Line chart of i/o wait as a share of service time (0 to 100 %) against ${metric}, for ${someIds(values.map((v) => v.chip))}${values.some((v) => v.chip === allLabel) ? ` (the ${allLabel} line dashed)` : ''}. The table "i/o wait versus compute" gives the lowest and highest load's shares.`,
    ...BASE, title: 'i/o wait as a share of service time (i/o + compute, queue wait left out), by load', width: 520, height: 240, data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'load', type: 'quantitative', title: metric },
      y: { field: 'share', type: 'quantitative', axis: { format: '%' }, scale: { domain: [0, 1] }, title: 'i/o share' },
      color: { field: 'chip', type: 'nominal', scale: scales.color },
      shape: { field: 'chip', type: 'nominal', scale: scales.shape },
      strokeDash: { condition: { test: `datum.chip === ${JSON.stringify(allLabel)}`, value: [5, 3] }, value: [1, 0] },
    },
  } as ChartSpec;
}
