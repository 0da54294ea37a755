import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, urlForMessages } from '../errors.ts';
import { nearestNames, printable } from './names.ts';
import { userinfoProblem } from './alerts/webhook.ts';
import { parseCron } from './model/training-schedule.ts';
import { alertPolicy, type AlertPolicy } from '../pipelines/alerts/alert-state.ts';
import { CORRELATION_SCOPES, type CorrelationScope } from '../pipelines/rolling-correlation.ts';

/**
 * Runtime configuration from `EDGELAT_*` environment variables (DESIGN §7).
 * The only module that reads `process.env`, once, at start-up.
 */
export interface EdgelatConfig {
  /** Folder of runtime data (embedded warehouse under `<dataDir>/chdb`). @default './.edgelat' */
  dataDir: string;
  /** Database of the edgelat tables. @default 'edgelat' */
  database: string;
  /**
   * Longest a command waits for another edgelat process to let go of the embedded warehouse's folder, s (0: fail at
   * once; `edgelat serve` as the holder is never waited for). @default 60
   */
  lockWaitS: number;
  /** pino level for the structured log on stderr. @default 'warn' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** True when EDGELAT_LOG_LEVEL was set (commands with their own report may log less by default). */
  logLevelSet: boolean;
  /** Partitions of the in-process topics. @default 4 */
  partitions: number;
  /** Max out-of-orderness of event time, ms. @default 2000 */
  maxOutOfOrdernessMs: number;
  /** As-of join tolerance, ms. @default 5000 */
  joinToleranceMs: number;
  /** Sliding window size, ms. @default 300000 */
  windowSizeMs: number;
  /** Sliding window slide, ms. @default 30000 */
  windowSlideMs: number;
  /** Allowed lateness of windows, ms. @default 0 */
  allowedLatenessMs: number;
  /** Max lead of a record's event time over its log timestamp before it is dead-lettered, ms. @default 3600000 */
  maxEventTimeAheadMs: number;
  /** Offsets per warehouse-sink insert block (blocks are aligned on multiples of it). @default 4096 */
  sinkBatchOffsets: number;
  /** Longest a record waits in a partial warehouse-sink block before it is written (streaming runs), ms. @default 1000 */
  sinkLingerMs: number;
  /** Days the time-partitioned tables keep rows (a TTL by event time, services/warehouse/retention.ts), or null: for ever. */
  retentionDays: number | null;
  /** Key scopes of the rolling correlation (pipelines/rolling-correlation.ts). */
  correlationScopes: readonly CorrelationScope[];
  /** Processing time after which a silent input stream of a partition stops holding the watermark back (streaming runs), ms. @default 30000 */
  idleTimeoutMs: number;
  /** Cron expression (UTC) of latency-model retraining in `pipeline run`; null: no schedule (the demo replays one every 10 minutes of event time). */
  retrainCron: string | null;
  /** Event-time window a scheduled retraining reads, ms. @default 604800000 (7 days) */
  retrainWindowMs: number;
  /**
   * After each scheduled retraining, the model files (and warehouse copies) of each kind's versions beyond its champions
   * and this many newest others are pruned (services/model/prune.ts); null: every version keeps its file.
   */
  retrainKeep: number | null;
  /** Alert policy of the correlation processor (EDGELAT_ALERT_*; pipelines/alerts/alert-state.ts). */
  alerts: AlertPolicy;
  /** Longest wait for the alert webhook's answer, ms (EDGELAT_ALERTS_TIMEOUT_MS). @default 10000 */
  alertsTimeoutMs: number;
  /**
   * The alert webhook when `--alerts-webhook` is not given (EDGELAT_ALERTS_WEBHOOK_URL): its token stays out of the
   * command line, which `ps` and /proc show (a trial). null: none.
   */
  alertsWebhookUrl: string | null;
  /** Shadow comparison (EDGELAT_SHADOW*; pipelines/shadow-compare.ts). */
  shadows: ShadowConfig;
  /** Kafka connection; null runs the in-process log. */
  kafka: KafkaConfig | null;
  /** ClickHouse server connection; null runs the embedded chdb warehouse. */
  clickhouse: ClickHouseConfig | null;
  /** Confluent Schema Registry URL, or null (single-object Avro only). */
  schemaRegistryUrl: string | null;
}

/** Shadow comparison settings (EDGELAT_SHADOW*). */
export interface ShadowConfig {
  /** Run shadow-compare (and copy edge.shadow.v1 and the verdicts to the warehouse) in `pipeline run`; the demo always does. @default false */
  enabled: boolean;
  /** Tumbling window of production request times, ms. @default 300000 */
  windowMs: number;
  /** Longest a shadow result may trail its production event, ms. @default 30000 */
  lagToleranceMs: number;
  /** Relative tolerance of the verdict. @default 0.1 */
  tolerance: number;
  /** p99 objective of the shadow, ms, or null. @default null */
  sloP99Ms: number | null;
}

/** Kafka client settings (EDGELAT_KAFKA_*). */
export interface KafkaConfig {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  /** @default 'edgelat' */
  clientId: string;
  /** SASL mechanism, or null for none. */
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  /** Use TLS. @default false */
  tls: boolean;
  /** Producer compression. @default 'none' */
  compression: 'none' | 'gzip';
  /**
   * Prefix of the processors' consumer groups, `<prefix>-<processor>` (e.g. edgelat-join-load-latency):
   * another job over the same topics (a second bounded run into another database) needs its own. @default 'edgelat'
   */
  groupPrefix: string;
  /** Consumer group session timeout, ms: how soon a member that stopped heartbeating (a killed process) loses its partitions. @default 10000 */
  sessionTimeoutMs: number;
  /** Longest the group coordinator waits for every member to rejoin in a rebalance, ms (≥ sessionTimeoutMs). @default 20000 */
  rebalanceTimeoutMs: number;
}

/** ClickHouse server settings (EDGELAT_CLICKHOUSE_*). */
export interface ClickHouseConfig {
  /** HTTP(S) URL, e.g. http://localhost:8123. */
  url: string;
  /** @default 'default' */
  username: string;
  /** @default '' */
  password: string;
}

/** A whole number written in decimal digits (`1e3`, `0x10` or `10.0` would be read as another number than the one meant). */
const int = (min: number, max: number) => z.string().trim().regex(/^[+-]?\d+$/, `must be a whole number in decimal digits, ${min} to ${max}`)
  .pipe(z.coerce.number<string>().min(min, `must be ${min} to ${max}`).max(max, `must be ${min} to ${max}`));
/** A decimal number (`0.25`, `1e-3`); hexadecimal, binary and octal spellings are refused. */
const decimal = () => z.string().trim().regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'must be a decimal number').pipe(z.coerce.number<string>());
const HOUR_MS = 3_600_000;
/** host:port[,host:port...] */
const BROKER_LIST = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;
const RESERVED_DATABASES = new Set(['system', 'information_schema', 'default']);

/**
 * An absolute http(s) URL; a port beyond 65535 is named (a trial: `http://bob:pw@host:99999/x` read only "must be an
 * http(s) URL").
 */
const httpUrl = z.string().superRefine((v, ctx) => {
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (ok) return;
  const port = /^https?:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/i.exec(v)?.[1];
  ctx.addIssue({ code: 'custom', message: port !== undefined && Number(port) > 65535 ? `must be an http(s) URL: its port ${port} is beyond 65535` : 'must be an http(s) URL' });
});

/**
 * An http(s) URL whose `user:password@` is read when a request is made (the schema registry, the alert webhook): a `%`
 * that starts no escape is refused here, not "URI malformed" at the first request, after a Kafka connection or hours into
 * a run (a trial).
 */
const httpUrlWithLogin = httpUrl.superRefine((v, ctx) => {
  const problem = userinfoProblem(v);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** ClickHouse's HTTP interface: the database and the login have variables of their own (the client refuses URL parameters). */
const clickhouseUrl = httpUrl
  .refine((v) => !URL.canParse(v) || new URL(v).search === '', 'must have no query string (?database=…, ?x=…): the database is EDGELAT_DATABASE, settings are not taken')
  .refine((v) => !URL.canParse(v) || (new URL(v).username === '' && new URL(v).password === ''), 'must have no user or password in it: give them as EDGELAT_CLICKHOUSE_USER and EDGELAT_CLICKHOUSE_PASSWORD');

/**
 * One of `values` (lower case), the value given in any case: `PLAIN` (Kafka's own spelling of the mechanism), `TRUE`,
 * `INFO` (a trial: refused).
 */
function anyCase<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().trim().transform((v) => v.toLowerCase()).pipe(z.enum(values));
}

const schema = z.object({
  EDGELAT_DATA_DIR: z.string().min(1).default('./.edgelat'),
  EDGELAT_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain identifier of at most 63 characters')
    .refine((v) => !RESERVED_DATABASES.has(v.toLowerCase()), 'is reserved by ClickHouse; choose another name')
    .default('edgelat'),
  EDGELAT_LOCK_WAIT_S: int(0, 24 * 3600).default(60),
  EDGELAT_LOG_LEVEL: anyCase(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  /** Read by bin/edgelat.js before anything else: '1' runs the TypeScript sources through tsx instead of the compiled dist/. */
  EDGELAT_FROM_SOURCE: z.enum(['0', '1']).default('0'),
  EDGELAT_PARTITIONS: int(1, 1024).default(4),
  EDGELAT_MAX_OUT_OF_ORDERNESS_MS: int(0, HOUR_MS).default(2000),
  EDGELAT_JOIN_TOLERANCE_MS: int(0, HOUR_MS).default(5000),
  EDGELAT_WINDOW_SIZE_MS: int(1000, 24 * HOUR_MS).default(300_000),
  EDGELAT_WINDOW_SLIDE_MS: int(1000, 24 * HOUR_MS).default(30_000),
  EDGELAT_ALLOWED_LATENESS_MS: int(0, HOUR_MS).default(0),
  EDGELAT_MAX_EVENT_TIME_AHEAD_MS: int(0, 7 * 24 * HOUR_MS).default(HOUR_MS),
  EDGELAT_SINK_BATCH_OFFSETS: int(1, 1_000_000).default(4096),
  EDGELAT_SINK_LINGER_MS: int(0, HOUR_MS).default(1000),
  EDGELAT_RETENTION_DAYS: int(1, 36_500).optional(),
  EDGELAT_CORRELATION_SCOPES: z.string().default('server×model').transform((v, ctx) => {
    const names = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
    // × typed as x, *, - or nothing between words is the same scope (server-model, server*model).
    const scopes = names.map((x) => CORRELATION_SCOPES.find((c) => c === x.toLowerCase().replace(/\s*[x×*-]\s*/g, '×')));
    const bad = names.filter((_x, i) => scopes[i] === undefined);
    if (names.length === 0 || bad.length > 0 || new Set(scopes).size !== scopes.length) {
      ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of ${CORRELATION_SCOPES.join(', ')} (server-model, server-model-chip too), none twice${bad.length ? `; unknown: ${bad.map((b) => JSON.stringify(b)).join(', ')}` : ''}` });
      return z.NEVER;
    }
    // Alerts, the report's r over time and the demo's summary follow server×model: without it they would be silently
    // empty (a re-test).
    if (!scopes.includes('server×model')) {
      ctx.addIssue({ code: 'custom', message: 'must include server×model (server-model): alerts and the load-latency report follow that scope' });
      return z.NEVER;
    }
    return scopes as CorrelationScope[];
  }),
  EDGELAT_IDLE_TIMEOUT_MS: int(1, 24 * HOUR_MS).default(30_000),
  EDGELAT_ALERT_THRESHOLD: decimal().pipe(z.number().gt(0).max(1)).default(0.5),
  EDGELAT_ALERT_HYSTERESIS: decimal().pipe(z.number().min(0).lt(1)).default(0.1),
  EDGELAT_ALERT_MIN_N: int(3, 1_000_000_000).default(30),
  EDGELAT_ALERT_FIRE_AFTER: int(1, 1000).default(3),
  EDGELAT_ALERT_CLEAR_AFTER: int(1, 1000).default(3),
  EDGELAT_ALERT_LOOKBACK: int(1, 1000).default(20),
  EDGELAT_ALERTS_TIMEOUT_MS: int(100, 10 * 60_000).default(10_000),
  EDGELAT_ALERTS_WEBHOOK_URL: httpUrlWithLogin.optional(),
  EDGELAT_SHADOWS: anyCase(['true', 'false']).default('false'),
  EDGELAT_SHADOW_WINDOW_MS: int(1000, 24 * HOUR_MS).default(300_000),
  EDGELAT_SHADOW_LAG_TOLERANCE_MS: int(0, HOUR_MS).default(30_000),
  EDGELAT_SHADOW_TOLERANCE: decimal().pipe(z.number().gt(0).max(10)).default(0.1),
  EDGELAT_SHADOW_SLO_P99_MS: decimal().pipe(z.number().gt(0).max(1e9)).optional(),
  EDGELAT_KAFKA_BROKERS: z
    .string()
    .regex(BROKER_LIST, 'must be host:port[,host:port...] (no spaces; IPv6 addresses are not supported)')
    // Only where the shape is right, so that a malformed list gets one reason.
    .refine((v) => !BROKER_LIST.test(v) || v.split(',').every((b) => {
      const port = Number(b.slice(b.lastIndexOf(':') + 1));
      return port >= 1 && port <= 65_535;
    }), 'a port must be 1..65535')
    .optional(),
  EDGELAT_KAFKA_CLIENT_ID: z.string().min(1).default('edgelat'),
  EDGELAT_KAFKA_GROUP_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'expected 1 to 200 letters, digits, ".", "_" or "-"').default('edgelat'),
  EDGELAT_KAFKA_SASL_MECHANISM: anyCase(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  EDGELAT_KAFKA_SASL_USERNAME: z.string().optional(),
  EDGELAT_KAFKA_SASL_PASSWORD: z.string().optional(),
  EDGELAT_KAFKA_TLS: anyCase(['true', 'false']).default('false'),
  EDGELAT_KAFKA_COMPRESSION: anyCase(['none', 'gzip']).default('none'),
  EDGELAT_KAFKA_SESSION_TIMEOUT_MS: int(1000, HOUR_MS).default(10_000),
  EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS: int(1000, HOUR_MS).default(20_000),
  EDGELAT_CLICKHOUSE_URL: clickhouseUrl.optional(),
  EDGELAT_CLICKHOUSE_USER: z.string().default('default'),
  EDGELAT_CLICKHOUSE_PASSWORD: z.string().default(''),
  EDGELAT_SCHEMA_REGISTRY_URL: httpUrlWithLogin.optional(),
  EDGELAT_RETRAIN_CRON: z
    .string()
    // croner's own reason (a trial: "61 * * * *" was said not to have 5 fields), and an expression no date matches.
    .superRefine((v, ctx) => {
      try {
        // From 1970, not from now: the demo replays a schedule in its event time (2024), so a year past is a time.
        if (parseCron(v).nextRun(new Date(0)) === null) ctx.addIssue({ code: 'custom', message: 'matches no time at all (a day no month has, e.g. "0 0 30 2 *"): the models would never retrain' });
      } catch (error) {
        const why = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
        ctx.addIssue({ code: 'custom', message: `must be a cron expression of 5 to 7 fields, e.g. "0 * * * *" (hourly): ${why.replace(/^CronPattern: /, '')}` });
      }
    })
    .optional(),
  EDGELAT_RETRAIN_WINDOW_MS: int(60_000, 365 * 24 * HOUR_MS).default(7 * 24 * HOUR_MS),
  EDGELAT_RETRAIN_KEEP: int(0, 1_000_000).optional(),
});

/** Every environment variable the configuration reads (for --help, docs and the docker-compose check). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/**
 * The default of each variable that has one, as the schema gives it when the variable is unset (for the docs check:
 * `--help` and the README state these), e.g. `{ EDGELAT_WINDOW_SIZE_MS: 300000, ... }`.
 */
export function configDefaults(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(schema.shape)) {
    const r = (type as z.ZodType).safeParse(undefined);
    if (r.success && r.data !== undefined) out[name] = r.data;
  }
  return out;
}

/**
 * A variable's value as an error message may show it: secrets redacted; a URL (`…_URL`) as its scheme, host and port (one
 * without a scheme by its length alone: it may be a token pasted alone),
 * each broker of EDGELAT_KAFKA_BROKERS as its host and port, any other value holding an `@` cut before it (but a cron
 * nickname, which starts with it) and any other value that is a URL (`scheme://…`) as a URL
 * (`urlForMessages`: a trial's `bob:secretpw@host:8081`, without its scheme, and a ClickHouse URL's `?password=` were
 * printed whole).
 */
function shown(name: string, value: string | undefined): string {
  if (value === undefined) return 'undefined';
  if (/PASSWORD|SECRET|TOKEN/.test(name)) return '"[redacted]"';
  if (name === 'EDGELAT_KAFKA_BROKERS') return JSON.stringify(value.split(',').map(urlForMessages).join(','));
  // A cron nickname's `@` starts it (`@daily`): no credential before it (a trial: "@every 5m" was shown as "…@every 5m").
  if (name === 'EDGELAT_RETRAIN_CRON' && value.trim().startsWith('@')) return JSON.stringify(value);
  // A URL variable's value without a scheme may be a token pasted alone (a security trial:
  // EDGELAT_ALERTS_WEBHOOK_URL="WTOKEN…" was printed whole): its length, not its characters.
  if (name.endsWith('_URL') && !value.includes('@') && !/^\s*[a-z][a-z0-9+.-]*:\/\//i.test(value)) return `[${[...value].length} characters, not shown: no scheme such as http:// before them]`;
  // A URL in any variable (a re-test: EDGELAT_PARTITIONS="https://h/hooks/T0K3N?key=s3cret" was shown whole).
  if (name.endsWith('_URL') || value.includes('@') || /^\s*[a-z][a-z0-9+.-]*:\/\//i.test(value)) return JSON.stringify(urlForMessages(value));
  return JSON.stringify(value);
}

/**
 * A zod message in the words of the other checks' (`must be …`): "Too big: expected number to be <=1" is "must be at
 * most 1", an option list "must be one of …" (a trial read the library's wording beside "must be 0 to 3600000").
 */
function plainIssue(message: string): string {
  const bound = /^Too (?:big|small): expected number to be ([<>]=?)(.+)$/.exec(message);
  if (bound) return `must be ${({ '<=': 'at most', '<': 'below', '>=': 'at least', '>': 'above' } as Record<string, string>)[bound[1]!]} ${bound[2]}`;
  const option = /^Invalid option: expected one of (.+)$/.exec(message);
  if (option) return `must be one of ${option[1]!.split('|').join(', ')}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/**
 * Validate the environment and apply defaults; an empty value counts as unset.
 * @param warn  Where a warning goes: settings that do nothing without another (Kafka's without EDGELAT_KAFKA_BROKERS,
 *              a ClickHouse login without EDGELAT_CLICKHOUSE_URL). @default stderr, each line once a process
 * @throws {ConfigError} listing every bad variable with its value, in one message (the checks across variables too).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = warnOnce): EdgelatConfig {
  // An empty value (`EDGELAT_JOIN_TOLERANCE_MS=`) means unset, as in most tools: the default applies (it would read as 0).
  const given = Object.fromEntries(Object.entries(env).filter(([k, v]) => !(k.startsWith('EDGELAT_') && v !== undefined && v.trim() === '')));
  // A mistyped name (EDGELAT_WINDOW_SIZE) would leave the default in force without a word. EDGELAT_TEST_* belong to the tests.
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(env).filter((k) => k.startsWith('EDGELAT_') && !k.startsWith('EDGELAT_TEST_') && !known.includes(k)).sort();
  // Every bad variable in one message: a mistyped name does not hide a bad value of another (a trial).
  const problems = unknown.map((k) => `${k} is not an edgelat variable (nearest: ${nearestNames(k, known, 3)})`);
  if (unknown.length > 0) problems[problems.length - 1] += "; the README's Configuration table lists them";
  // Each variable on its own, then the checks across variables on those that parsed: one message names every bad
  // variable (a trial: a bad EDGELAT_PARTITIONS hid a slide longer than the window, and SASL settings a bad window).
  type Env = z.output<typeof schema>;
  const values: Partial<Record<keyof Env, unknown>> = {};
  const bad = new Set<string>();
  for (const [k, field] of Object.entries(schema.shape) as [keyof Env, z.ZodType][]) {
    const r = field.safeParse(unknown.includes(k) ? undefined : given[k]);
    if (r.success) values[k] = r.data;
    else {
      bad.add(k);
      problems.push(...r.error.issues.map((i) => `${k}=${shown(k, env[k])}: ${plainIssue(i.message)}`));
    }
  }
  const e = values as Env;
  const ok = (...names: (keyof Env)[]): boolean => names.every((n) => !bad.has(n));
  // Unset, the rebalance timeout follows a longer session timeout (a trial: a session timeout of 30 s alone was refused).
  if (ok('EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS', 'EDGELAT_KAFKA_SESSION_TIMEOUT_MS') && given.EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS === undefined) {
    e.EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS = Math.max(e.EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS, e.EDGELAT_KAFKA_SESSION_TIMEOUT_MS);
  }
  if (ok('EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS', 'EDGELAT_KAFKA_SESSION_TIMEOUT_MS') && e.EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS < e.EDGELAT_KAFKA_SESSION_TIMEOUT_MS) {
    const rebalance = `EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS=${e.EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS}`;
    problems.push(`${rebalance} is less than EDGELAT_KAFKA_SESSION_TIMEOUT_MS=${e.EDGELAT_KAFKA_SESSION_TIMEOUT_MS}: a rebalance waits at least one session for a member to rejoin; set EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS=${e.EDGELAT_KAFKA_SESSION_TIMEOUT_MS} or more`);
  }
  if (ok('EDGELAT_KAFKA_SASL_MECHANISM') && e.EDGELAT_KAFKA_SASL_MECHANISM && !(e.EDGELAT_KAFKA_SASL_USERNAME && e.EDGELAT_KAFKA_SASL_PASSWORD)) {
    problems.push(`EDGELAT_KAFKA_SASL_MECHANISM=${e.EDGELAT_KAFKA_SASL_MECHANISM} needs EDGELAT_KAFKA_SASL_USERNAME and EDGELAT_KAFKA_SASL_PASSWORD`);
  }
  // A login without a mechanism would connect with none, and say nothing (a trial).
  const saslGiven = (['EDGELAT_KAFKA_SASL_USERNAME', 'EDGELAT_KAFKA_SASL_PASSWORD'] as const).filter((k) => given[k] !== undefined);
  if (ok('EDGELAT_KAFKA_SASL_MECHANISM') && !e.EDGELAT_KAFKA_SASL_MECHANISM && saslGiven.length > 0 && e.EDGELAT_KAFKA_BROKERS) {
    problems.push(`${saslGiven.join(' and ')} ${saslGiven.length > 1 ? 'are' : 'is'} set without EDGELAT_KAFKA_SASL_MECHANISM: set it (plain, scram-sha-256 or scram-sha-512), or unset ${saslGiven.length > 1 ? 'them' : 'it'} (the connection would have no login)`);
  }
  if (ok('EDGELAT_WINDOW_SIZE_MS', 'EDGELAT_WINDOW_SLIDE_MS')) {
    const slides = e.EDGELAT_WINDOW_SIZE_MS / e.EDGELAT_WINDOW_SLIDE_MS;
    if (e.EDGELAT_WINDOW_SIZE_MS % e.EDGELAT_WINDOW_SLIDE_MS !== 0) {
      problems.push(`EDGELAT_WINDOW_SIZE_MS=${e.EDGELAT_WINDOW_SIZE_MS} must be a multiple of EDGELAT_WINDOW_SLIDE_MS=${e.EDGELAT_WINDOW_SLIDE_MS}${slides < 1 ? ' (the slide is longer than the window)' : ''}`);
    } else if (slides > 1000) {
      problems.push(`EDGELAT_WINDOW_SIZE_MS=${e.EDGELAT_WINDOW_SIZE_MS} over EDGELAT_WINDOW_SLIDE_MS=${e.EDGELAT_WINDOW_SLIDE_MS} is ${slides} slides a window: at most 1000 (each record is in every window it slides through)`);
    }
  }
  const dataDirProblem = ok('EDGELAT_DATA_DIR') ? tildeIssue(e.EDGELAT_DATA_DIR) ?? dataDirIssue(resolve(e.EDGELAT_DATA_DIR)) : null;
  if (dataDirProblem) problems.push(`EDGELAT_DATA_DIR=${JSON.stringify(e.EDGELAT_DATA_DIR)}: ${dataDirProblem}`);
  let alerts: AlertPolicy | null = null;
  const policyVariables = ['EDGELAT_ALERT_THRESHOLD', 'EDGELAT_ALERT_HYSTERESIS', 'EDGELAT_ALERT_MIN_N', 'EDGELAT_ALERT_FIRE_AFTER', 'EDGELAT_ALERT_CLEAR_AFTER', 'EDGELAT_ALERT_LOOKBACK'] as const;
  if (ok(...policyVariables)) {
    try {
      alerts = alertPolicy({
        threshold: e.EDGELAT_ALERT_THRESHOLD, hysteresis: e.EDGELAT_ALERT_HYSTERESIS, minN: e.EDGELAT_ALERT_MIN_N,
        fireAfter: e.EDGELAT_ALERT_FIRE_AFTER, clearAfter: e.EDGELAT_ALERT_CLEAR_AFTER, lookback: e.EDGELAT_ALERT_LOOKBACK,
      });
    } catch (error) {
      // alertPolicy names its fields (`alert fireAfter: expected ≤ lookback (20), got 42`): here they are the variables.
      const VARIABLE: Readonly<Record<string, string>> = {
        threshold: 'EDGELAT_ALERT_THRESHOLD', hysteresis: 'EDGELAT_ALERT_HYSTERESIS', minN: 'EDGELAT_ALERT_MIN_N',
        fireAfter: 'EDGELAT_ALERT_FIRE_AFTER', clearAfter: 'EDGELAT_ALERT_CLEAR_AFTER', lookback: 'EDGELAT_ALERT_LOOKBACK',
      };
      problems.push((error as Error).message.replace(/(^|; )alert (\w+): /g, (_m, sep: string, f: string) => `${sep}${VARIABLE[f] ?? f}: `)
        .replace(/\b(threshold|lookback) \(/g, (_m, f: string) => `${VARIABLE[f]} (`));
    }
  }
  if (problems.length > 0 || alerts === null) throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  unusedSettingsWarning(given, e, warn);
  return {
    dataDir: resolve(e.EDGELAT_DATA_DIR),
    database: e.EDGELAT_DATABASE,
    lockWaitS: e.EDGELAT_LOCK_WAIT_S,
    logLevel: e.EDGELAT_LOG_LEVEL,
    logLevelSet: env.EDGELAT_LOG_LEVEL !== undefined,
    partitions: e.EDGELAT_PARTITIONS,
    maxOutOfOrdernessMs: e.EDGELAT_MAX_OUT_OF_ORDERNESS_MS,
    joinToleranceMs: e.EDGELAT_JOIN_TOLERANCE_MS,
    windowSizeMs: e.EDGELAT_WINDOW_SIZE_MS,
    windowSlideMs: e.EDGELAT_WINDOW_SLIDE_MS,
    allowedLatenessMs: e.EDGELAT_ALLOWED_LATENESS_MS,
    maxEventTimeAheadMs: e.EDGELAT_MAX_EVENT_TIME_AHEAD_MS,
    sinkBatchOffsets: e.EDGELAT_SINK_BATCH_OFFSETS,
    sinkLingerMs: e.EDGELAT_SINK_LINGER_MS,
    retentionDays: e.EDGELAT_RETENTION_DAYS ?? null,
    correlationScopes: e.EDGELAT_CORRELATION_SCOPES,
    idleTimeoutMs: e.EDGELAT_IDLE_TIMEOUT_MS,
    alerts,
    alertsTimeoutMs: e.EDGELAT_ALERTS_TIMEOUT_MS,
    alertsWebhookUrl: e.EDGELAT_ALERTS_WEBHOOK_URL ?? null,
    shadows: {
      enabled: e.EDGELAT_SHADOWS === 'true', windowMs: e.EDGELAT_SHADOW_WINDOW_MS, lagToleranceMs: e.EDGELAT_SHADOW_LAG_TOLERANCE_MS,
      tolerance: e.EDGELAT_SHADOW_TOLERANCE, sloP99Ms: e.EDGELAT_SHADOW_SLO_P99_MS ?? null,
    },
    kafka: e.EDGELAT_KAFKA_BROKERS
      ? {
          brokers: e.EDGELAT_KAFKA_BROKERS.split(','),
          clientId: e.EDGELAT_KAFKA_CLIENT_ID,
          sasl: e.EDGELAT_KAFKA_SASL_MECHANISM
            ? { mechanism: e.EDGELAT_KAFKA_SASL_MECHANISM, username: e.EDGELAT_KAFKA_SASL_USERNAME ?? '', password: e.EDGELAT_KAFKA_SASL_PASSWORD ?? '' }
            : null,
          tls: e.EDGELAT_KAFKA_TLS === 'true',
          compression: e.EDGELAT_KAFKA_COMPRESSION,
          groupPrefix: e.EDGELAT_KAFKA_GROUP_PREFIX,
          sessionTimeoutMs: e.EDGELAT_KAFKA_SESSION_TIMEOUT_MS,
          rebalanceTimeoutMs: e.EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS,
        }
      : null,
    clickhouse: e.EDGELAT_CLICKHOUSE_URL ? { url: e.EDGELAT_CLICKHOUSE_URL, username: e.EDGELAT_CLICKHOUSE_USER, password: e.EDGELAT_CLICKHOUSE_PASSWORD } : null,
    schemaRegistryUrl: e.EDGELAT_SCHEMA_REGISTRY_URL ?? null,
    retrainCron: e.EDGELAT_RETRAIN_CRON ?? null,
    retrainWindowMs: e.EDGELAT_RETRAIN_WINDOW_MS,
    retrainKeep: e.EDGELAT_RETRAIN_KEEP ?? null,
  };
}

/** Each warning once a process (the commands load the configuration more than once); what does not show is escaped (names.ts `printable`). */
const warned = new Set<string>();
function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`edgelat: warning: ${printable(line)}\n`);
}

/**
 * Warn of settings that do nothing without another: Kafka's (SASL, TLS, compression, client id, group prefix,
 * timeouts, and the schema registry) with no EDGELAT_KAFKA_BROKERS (the in-process log runs), a ClickHouse login with no EDGELAT_CLICKHOUSE_URL
 * (the embedded warehouse takes none), the retraining window or pruning with no EDGELAT_RETRAIN_CRON. A trial set them and got exit 0 without a word.
 */
function unusedSettingsWarning(given: Readonly<Record<string, string | undefined>>, e: { EDGELAT_KAFKA_BROKERS?: string; EDGELAT_CLICKHOUSE_URL?: string; EDGELAT_RETRAIN_CRON?: string }, warn: (line: string) => void): void {
  const set = (prefix: string, but: string[]) => Object.keys(given).filter((k) => k.startsWith(prefix) && !but.includes(k) && given[k] !== undefined).sort();
  // The schema registry is read only by the Kafka paths (a trial set it alone and heard nothing).
  const kafka = e.EDGELAT_KAFKA_BROKERS ? [] : [...set('EDGELAT_KAFKA_', ['EDGELAT_KAFKA_BROKERS']), ...set('EDGELAT_SCHEMA_REGISTRY_', [])].sort();
  if (kafka.length > 0) warn(`${kafka.join(', ')} ${kafka.length > 1 ? 'are' : 'is'} set, but EDGELAT_KAFKA_BROKERS is not: ${kafka.length > 1 ? 'they do' : 'it does'} nothing (a command that uses an event log runs the in-process one)`);
  const clickhouse = e.EDGELAT_CLICKHOUSE_URL ? [] : set('EDGELAT_CLICKHOUSE_', ['EDGELAT_CLICKHOUSE_URL']);
  if (clickhouse.length > 0) warn(`${clickhouse.join(', ')} ${clickhouse.length > 1 ? 'are' : 'is'} set, but EDGELAT_CLICKHOUSE_URL is not: the embedded warehouse takes no login (${clickhouse.length > 1 ? 'they do' : 'it does'} nothing)`);
  // The window and the pruning are the schedule's (a trial set EDGELAT_RETRAIN_KEEP alone and heard nothing).
  const retrain = e.EDGELAT_RETRAIN_CRON ? [] : set('EDGELAT_RETRAIN_', ['EDGELAT_RETRAIN_CRON']);
  if (retrain.length > 0) warn(`${retrain.join(', ')} ${retrain.length > 1 ? 'are' : 'is'} set, but EDGELAT_RETRAIN_CRON is not: ${retrain.length > 1 ? 'they apply' : 'it applies'} to pipeline run's scheduled retraining only (\`edgelat model train\` and \`model prune\` take flags)`);
}

/**
 * What is wrong with a data dir that exists: a file, or an embedded warehouse folder itself (`…/.edgelat/chdb`
 * given for `…/.edgelat`: ClickHouse keeps its `metadata` and `store` folders there). null when it is fine or not there yet.
 */
/**
 * A path that starts with `~`: a shell expands it (and not inside quotes, nor in a .env file or a service's
 * environment); edgelat would take it as a folder named `~` in the current one (a trial: `EDGELAT_DATA_DIR='~/x'`
 * made ./~/x without a word).
 */
function tildeIssue(path: string): string | null {
  const m = /^~([^/]*)(\/.*)?$/.exec(path);
  if (!m) return null;
  const home = m[1] === '' ? homedir() : null;
  return `starts with ~, which only a shell expands (not inside quotes): give the full path${home ? `, ${JSON.stringify(join(home, m[2] ?? ''))}` : ''}`;
}

function dataDirIssue(dir: string): string | null {
  if (!existsSync(dir)) return null;
  if (!statSync(dir).isDirectory()) return 'is a file, not a folder';
  if (existsSync(join(dir, 'metadata')) && existsSync(join(dir, 'store'))) return `is an embedded warehouse itself: set it to the folder that holds it, ${JSON.stringify(dirname(dir))}`;
  return null;
}

/** Folder of the embedded warehouse inside the data dir. */
export const chdbDir = (config: Pick<EdgelatConfig, 'dataDir'>): string => resolve(config.dataDir, 'chdb');

/**
 * The note `demo` and `serve` print when EDGELAT_CLICKHOUSE_URL is set: they run on the embedded warehouse of the data
 * dir, not on the server (a trial: `demo` wrote to the embedded folder without a word, and its pasted `try:` commands
 * then read the server, which had no such database).
 * @returns One line (URL without credentials), or null when no server is configured.
 */
export function embeddedOnlyNote(command: 'demo' | 'serve', config: Pick<EdgelatConfig, 'clickhouse' | 'dataDir' | 'database'>): string | null {
  if (!config.clickhouse) return null;
  const what = command === 'demo' ? 'writes' : 'serves';
  return `edgelat: note: ${command} ${what} the embedded warehouse in ${JSON.stringify(chdbDir(config))} (database ${config.database}), not the ClickHouse server of EDGELAT_CLICKHOUSE_URL `
    + `${JSON.stringify(config.clickhouse.url.replace(/\/\/[^/@\s]*@/, '//[redacted]@'))}, which it does not use`
    + (command === 'demo' ? ' (`edgelat pipeline run` writes to a server)' : ' (query the server itself)');
}

/** Folder of the model files of a data dir. */
export const modelDir = (config: Pick<EdgelatConfig, 'dataDir'>): string => join(config.dataDir, 'models');
