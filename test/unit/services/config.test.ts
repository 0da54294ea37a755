import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../errors.ts';
import { loadConfig } from '../../../services/config.ts';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({});
    expect([c.database, c.partitions, c.maxOutOfOrdernessMs, c.joinToleranceMs, c.windowSizeMs, c.windowSlideMs, c.allowedLatenessMs, c.maxEventTimeAheadMs]).toEqual(['edgelat', 4, 2000, 5000, 300_000, 30_000, 0, 3_600_000]);
  });

  it.each([
    [{ EDGELAT_WINDOW_SIZE_MS: 'abc' }, /EDGELAT_WINDOW_SIZE_MS="abc"/],
    [{ EDGELAT_DATABASE: 'x; DROP' }, /EDGELAT_DATABASE="x; DROP": must be a plain identifier/],
    [{ EDGELAT_DATABASE: 'system' }, /reserved/],
    [{ EDGELAT_DATABASE: 'INFORMATION_SCHEMA' }, /reserved/],
    [{ EDGELAT_DATABASE: 'a'.repeat(64) }, /at most 63/],
    [{ EDGELAT_PARTITIONS: '0' }, /EDGELAT_PARTITIONS="0"/],
    [{ EDGELAT_PARTITIONS: '100000000' }, /EDGELAT_PARTITIONS="100000000"/],
    [{ EDGELAT_WINDOW_SLIDE_MS: '1' }, /EDGELAT_WINDOW_SLIDE_MS="1"/],
    [{ EDGELAT_WINDOW_SIZE_MS: '300000', EDGELAT_WINDOW_SLIDE_MS: '7000' }, /must be a multiple/],
    [{ EDGELAT_LOG_LEVEL: 'loud' }, /EDGELAT_LOG_LEVEL="loud"/],
    // Whole numbers in decimal digits only: JavaScript's Number() would read these as 1000, 16 and 10.
    [{ EDGELAT_IDLE_TIMEOUT_MS: '1e3' }, /EDGELAT_IDLE_TIMEOUT_MS="1e3": must be a whole number in decimal digits/],
    [{ EDGELAT_MAX_EVENT_TIME_AHEAD_MS: '0x10' }, /EDGELAT_MAX_EVENT_TIME_AHEAD_MS="0x10": must be a whole number in decimal digits/],
    [{ EDGELAT_PARTITIONS: '10.0' }, /EDGELAT_PARTITIONS="10.0": must be a whole number in decimal digits/],
    [{ EDGELAT_KAFKA_BROKERS: '127.0.0.1:99999' }, /EDGELAT_KAFKA_BROKERS="127.0.0.1:99999": a port must be 1..65535/],
    [{ EDGELAT_KAFKA_BROKERS: 'a:9092,b:0' }, /EDGELAT_KAFKA_BROKERS="a:9092,b:0": a port must be 1..65535/],
    // One reason each: a malformed list is not also told about its ports, a huge number not about JavaScript's safe integers.
    [{ EDGELAT_KAFKA_BROKERS: 'h:9092,' }, /EDGELAT_KAFKA_BROKERS="h:9092,": must be host:port\[,host:port...\] \(no spaces; IPv6 addresses are not supported\)$/],
    [{ EDGELAT_PARTITIONS: '99999999999999999999' }, /EDGELAT_PARTITIONS="99999999999999999999": must be 1 to 1024$/],
    // Decimal settings: hexadecimal and binary spellings are refused.
    [{ EDGELAT_SHADOW_TOLERANCE: '0x5' }, /EDGELAT_SHADOW_TOLERANCE="0x5": must be a decimal number/],
    [{ EDGELAT_ALERT_HYSTERESIS: '0b0' }, /EDGELAT_ALERT_HYSTERESIS="0b0": must be a decimal number/],
  ])('rejects %j in one line naming the variable and value', (env, pattern) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(pattern);
  });

  it('reads decimal settings in decimal notation, exponents included, and keeps their defaults', () => {
    const c = loadConfig({ EDGELAT_SHADOW_TOLERANCE: ' 0.25 ', EDGELAT_ALERT_THRESHOLD: '5e-1', EDGELAT_SHADOW_SLO_P99_MS: '.5' });
    expect([c.shadows.tolerance, c.alerts.threshold, c.shadows.sloP99Ms]).toEqual([0.25, 0.5, 0.5]);
    const d = loadConfig({});
    expect([d.shadows.tolerance, d.alerts.threshold, d.alerts.hysteresis, d.shadows.sloP99Ms]).toEqual([0.1, 0.5, 0.1, null]);
  });

  it('refuses a data dir that starts with ~, which only a shell expands (a trial: \'~/x\' made ./~/x without a word)', () => {
    expect(() => loadConfig({ EDGELAT_DATA_DIR: '~/x' })).toThrow(`bad configuration: EDGELAT_DATA_DIR="~/x": starts with ~, which only a shell expands (not inside quotes): give the full path, ${JSON.stringify(join(homedir(), 'x'))}`);
    expect(() => loadConfig({ EDGELAT_DATA_DIR: '~' })).toThrow(`EDGELAT_DATA_DIR="~": starts with ~, which only a shell expands (not inside quotes): give the full path, ${JSON.stringify(homedir())}`);
    expect(() => loadConfig({ EDGELAT_DATA_DIR: '~bob/data' })).toThrow('EDGELAT_DATA_DIR="~bob/data": starts with ~, which only a shell expands (not inside quotes): give the full path');
    // A ~ further in is a plain character.
    expect(loadConfig({ EDGELAT_DATA_DIR: './a~b' }).dataDir).toBe(resolve('./a~b'));
  });

  it('refuses a data dir that is a file, or an embedded warehouse folder itself (…/.edgelat/chdb for …/.edgelat)', () => {
    const root = mkdtempSync(join(tmpdir(), 'edgelat-config-'));
    writeFileSync(join(root, 'afile'), '');
    expect(() => loadConfig({ EDGELAT_DATA_DIR: join(root, 'afile') })).toThrow(`bad configuration: EDGELAT_DATA_DIR=${JSON.stringify(join(root, 'afile'))}: is a file, not a folder`);
    for (const d of ['metadata', 'store']) mkdirSync(join(root, 'data', 'chdb', d), { recursive: true });
    expect(() => loadConfig({ EDGELAT_DATA_DIR: join(root, 'data', 'chdb') }))
      .toThrow(`bad configuration: EDGELAT_DATA_DIR=${JSON.stringify(join(root, 'data', 'chdb'))}: is an embedded warehouse itself: set it to the folder that holds it, ${JSON.stringify(join(root, 'data'))}`);
    // The folder that holds it, and one not there yet, are fine.
    expect([loadConfig({ EDGELAT_DATA_DIR: join(root, 'data') }).dataDir, loadConfig({ EDGELAT_DATA_DIR: join(root, 'new') }).dataDir]).toEqual([join(root, 'data'), join(root, 'new')]);
  });

  it('reads EDGELAT_CORRELATION_SCOPES as a list of scopes (× as x, * or -), and EDGELAT_RETENTION_DAYS', () => {
    expect(loadConfig({}).correlationScopes).toEqual(['server×model']);
    expect(loadConfig({ EDGELAT_CORRELATION_SCOPES: 'server, server-model ,Server*Model*Chip' }).correlationScopes).toEqual(['server', 'server×model', 'server×model×chip']);
    expect(() => loadConfig({ EDGELAT_CORRELATION_SCOPES: 'server,chip' })).toThrow('EDGELAT_CORRELATION_SCOPES="server,chip": expected a comma-separated list of server, server×model, server×model×chip (server-model, server-model-chip too), none twice; unknown: "chip"');
    expect(() => loadConfig({ EDGELAT_CORRELATION_SCOPES: 'server,server' })).toThrow(/none twice/);
    expect(() => loadConfig({ EDGELAT_CORRELATION_SCOPES: 'server,server-model-chip' })).toThrow('EDGELAT_CORRELATION_SCOPES="server,server-model-chip": must include server×model (server-model): alerts and the load-latency report follow that scope');
    expect([loadConfig({}).retentionDays, loadConfig({ EDGELAT_RETENTION_DAYS: '30' }).retentionDays]).toEqual([null, 30]);
  });

  it('treats an empty value as unset: the default applies, never 0', () => {
    const c = loadConfig({ EDGELAT_JOIN_TOLERANCE_MS: '', EDGELAT_SINK_LINGER_MS: ' ', EDGELAT_PARTITIONS: '', EDGELAT_KAFKA_BROKERS: '' });
    expect([c.joinToleranceMs, c.sinkLingerMs, c.partitions, c.kafka]).toEqual([5000, 1000, 4, null]);
  });

  it('lists every bad variable at once', () => {
    expect(() => loadConfig({ EDGELAT_PARTITIONS: '0', EDGELAT_LOG_LEVEL: 'loud' })).toThrow(/EDGELAT_LOG_LEVEL="loud".*EDGELAT_PARTITIONS="0"/);
  });

  it('lists the checks across variables with the others (a trial: a bad EDGELAT_PARTITIONS hid a slide longer than the window)', () => {
    const message = (env: Record<string, string>): string => {
      try {
        loadConfig(env, () => {});
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    const window = message({ EDGELAT_WINDOW_SIZE_MS: '30000', EDGELAT_WINDOW_SLIDE_MS: '300000', EDGELAT_PARTITIONS: '0' });
    expect(window).toMatch(/^bad configuration: EDGELAT_PARTITIONS="0": [^;]+; EDGELAT_WINDOW_SIZE_MS=30000 must be a multiple of EDGELAT_WINDOW_SLIDE_MS=300000 \(the slide is longer than the window\)$/);
    const both = message({ EDGELAT_KAFKA_BROKERS: 'k:9092', EDGELAT_KAFKA_SASL_MECHANISM: 'plain', EDGELAT_KAFKA_SASL_USERNAME: 'u', EDGELAT_WINDOW_SLIDE_MS: '7000', EDGELAT_ALERT_FIRE_AFTER: '30' });
    expect(both).toContain('EDGELAT_KAFKA_SASL_MECHANISM=plain needs EDGELAT_KAFKA_SASL_USERNAME and EDGELAT_KAFKA_SASL_PASSWORD');
    expect(both).toContain('EDGELAT_WINDOW_SIZE_MS=300000 must be a multiple of EDGELAT_WINDOW_SLIDE_MS=7000');
    expect(both).toContain('EDGELAT_ALERT_FIRE_AFTER: expected ≤ EDGELAT_ALERT_LOOKBACK (20), got 30');
    // Two bad alert settings at once: both named (a re-test).
    expect(message({ EDGELAT_ALERT_FIRE_AFTER: '30', EDGELAT_ALERT_HYSTERESIS: '0.6' }))
      .toBe('bad configuration: EDGELAT_ALERT_HYSTERESIS: expected 0 ≤ hysteresis < EDGELAT_ALERT_THRESHOLD (0.5), got 0.6; EDGELAT_ALERT_FIRE_AFTER: expected ≤ EDGELAT_ALERT_LOOKBACK (20), got 30');
    // 86,400 slides: a multiple, too many of them.
    expect(message({ EDGELAT_WINDOW_SIZE_MS: '86400000', EDGELAT_WINDOW_SLIDE_MS: '1000' }))
      .toBe('bad configuration: EDGELAT_WINDOW_SIZE_MS=86400000 over EDGELAT_WINDOW_SLIDE_MS=1000 is 86400 slides a window: at most 1000 (each record is in every window it slides through)');
    // A port past 65535 is named (a trial: only "must be an http(s) URL"); the login stays redacted.
    expect(message({ EDGELAT_ALERTS_WEBHOOK_URL: 'http://bob:pw@host:99999/x' })).toBe('bad configuration: EDGELAT_ALERTS_WEBHOOK_URL="http://…@host:99999/…": must be an http(s) URL: its port 99999 is beyond 65535');
    expect(message({ EDGELAT_ALERTS_WEBHOOK_URL: 'ftp://x' })).toBe('bad configuration: EDGELAT_ALERTS_WEBHOOK_URL="ftp://x": must be an http(s) URL');
    // A login without a mechanism would connect with none.
    expect(message({ EDGELAT_KAFKA_BROKERS: 'k:9092', EDGELAT_KAFKA_SASL_USERNAME: 'u', EDGELAT_KAFKA_SASL_PASSWORD: 'secret-x' }))
      .toBe('bad configuration: EDGELAT_KAFKA_SASL_USERNAME and EDGELAT_KAFKA_SASL_PASSWORD are set without EDGELAT_KAFKA_SASL_MECHANISM: set it (plain, scram-sha-256 or scram-sha-512), or unset them (the connection would have no login)');
  });

  it('warns of settings that do nothing without another: Kafka\'s without brokers, a ClickHouse login without a URL', () => {
    const lines: string[] = [];
    const c = loadConfig({ EDGELAT_KAFKA_TLS: 'true', EDGELAT_KAFKA_SASL_PASSWORD: 'pw-x', EDGELAT_CLICKHOUSE_USER: 'u', EDGELAT_CLICKHOUSE_PASSWORD: 'pw-y' }, (l) => lines.push(l));
    expect([c.kafka, c.clickhouse]).toEqual([null, null]);
    expect(lines).toEqual([
      'EDGELAT_KAFKA_SASL_PASSWORD, EDGELAT_KAFKA_TLS are set, but EDGELAT_KAFKA_BROKERS is not: they do nothing (a command that uses an event log runs the in-process one)',
      'EDGELAT_CLICKHOUSE_PASSWORD, EDGELAT_CLICKHOUSE_USER are set, but EDGELAT_CLICKHOUSE_URL is not: the embedded warehouse takes no login (they do nothing)',
    ]);
    lines.length = 0;
    loadConfig({ EDGELAT_KAFKA_BROKERS: 'k:9092', EDGELAT_KAFKA_TLS: 'true', EDGELAT_CLICKHOUSE_URL: 'http://h:8123', EDGELAT_CLICKHOUSE_USER: 'u' }, (l) => lines.push(l));
    expect(lines).toEqual([]);
    // The retraining window and pruning without a schedule (a trial: EDGELAT_RETRAIN_KEEP alone, not a word).
    loadConfig({ EDGELAT_RETRAIN_KEEP: '3', EDGELAT_RETRAIN_WINDOW_MS: '3600000' }, (l) => lines.push(l));
    expect(lines).toEqual(['EDGELAT_RETRAIN_KEEP, EDGELAT_RETRAIN_WINDOW_MS are set, but EDGELAT_RETRAIN_CRON is not: they apply to pipeline run\'s scheduled retraining only (`edgelat model train` and `model prune` take flags)']);
    lines.length = 0;
    loadConfig({ EDGELAT_RETRAIN_KEEP: '3', EDGELAT_RETRAIN_CRON: '0 3 * * *' }, (l) => lines.push(l));
    expect(lines).toEqual([]);
    // The schema registry is read by the Kafka paths only (a trial set it alone and heard nothing).
    loadConfig({ EDGELAT_SCHEMA_REGISTRY_URL: 'http://r:8081' }, (l) => lines.push(l));
    expect(lines).toEqual(['EDGELAT_SCHEMA_REGISTRY_URL is set, but EDGELAT_KAFKA_BROKERS is not: it does nothing (a command that uses an event log runs the in-process one)']);
  });

  it('reads Kafka and ClickHouse settings, and never shows a secret in an error', () => {
    const c = loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9092,k2:9093', EDGELAT_KAFKA_SASL_MECHANISM: 'scram-sha-512', EDGELAT_KAFKA_SASL_USERNAME: 'u', EDGELAT_KAFKA_SASL_PASSWORD: 'hunter2', EDGELAT_CLICKHOUSE_URL: 'http://localhost:8123' });
    expect(c.kafka).toEqual({ brokers: ['k1:9092', 'k2:9093'], clientId: 'edgelat', sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'hunter2' }, tls: false, compression: 'none', groupPrefix: 'edgelat', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000 });
    expect(loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9092', EDGELAT_KAFKA_GROUP_PREFIX: 'job-2.b_c' }).kafka?.groupPrefix).toBe('job-2.b_c');
    const timeouts = loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9092', EDGELAT_KAFKA_SESSION_TIMEOUT_MS: '6000', EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS: '6000' }).kafka;
    expect([timeouts?.sessionTimeoutMs, timeouts?.rebalanceTimeoutMs]).toEqual([6000, 6000]);
    // Unset, the rebalance timeout follows a longer session timeout (a trial: a session timeout of 30 s alone was refused).
    const longer = loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9092', EDGELAT_KAFKA_SESSION_TIMEOUT_MS: '30000' }).kafka;
    expect([longer?.sessionTimeoutMs, longer?.rebalanceTimeoutMs]).toEqual([30_000, 30_000]);
    expect(() => loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9092', EDGELAT_KAFKA_SESSION_TIMEOUT_MS: '30000', EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS: '25000' }))
      .toThrow('bad configuration: EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS=25000 is less than EDGELAT_KAFKA_SESSION_TIMEOUT_MS=30000: a rebalance waits at least one session for a member to rejoin; set EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS=30000 or more');
    expect(() => loadConfig({ EDGELAT_KAFKA_SESSION_TIMEOUT_MS: '999' })).toThrow(/EDGELAT_KAFKA_SESSION_TIMEOUT_MS="999"/);
    expect(() => loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9092', EDGELAT_KAFKA_GROUP_PREFIX: 'job 2' })).toThrow(/EDGELAT_KAFKA_GROUP_PREFIX="job 2": expected 1 to 200 letters, digits, "\.", "_" or "-"/);
    expect(c.clickhouse).toEqual({ url: 'http://localhost:8123', username: 'default', password: '' });
    expect(loadConfig({}).kafka).toBeNull();
    expect(() => loadConfig({ EDGELAT_CLICKHOUSE_URL: 'ftp://admin:s3cret@host' })).toThrow('EDGELAT_CLICKHOUSE_URL="ftp://…@host"');
    // Without a scheme, with an @ in the password, in a broker list, or in a query string: never printed (a trial).
    const message = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(message({ EDGELAT_SCHEMA_REGISTRY_URL: 'bob:secretpw@host:8081' })).toContain('EDGELAT_SCHEMA_REGISTRY_URL="…@host:8081"');
    expect(message({ EDGELAT_SCHEMA_REGISTRY_URL: 'ftp://bob:p@ss@host:8081' })).toContain('EDGELAT_SCHEMA_REGISTRY_URL="ftp://…@host:8081"');
    expect(message({ EDGELAT_KAFKA_BROKERS: 'kuser:KPw1@broker:9092,b2:9092' })).toContain('EDGELAT_KAFKA_BROKERS="…@broker:9092,b2:9092"');
    expect(message({ EDGELAT_CLICKHOUSE_URL: 'http://localhost:8123/?database=x&password=qsecret' })).toContain('EDGELAT_CLICKHOUSE_URL="http://localhost:8123/?database=…&password=…"');
    // A URL given to any other variable is shown as a URL too (a re-test: its path and query were printed whole).
    expect(message({ EDGELAT_PARTITIONS: 'https://h.example/hooks/T0K3N?key=s3cret' })).toContain('EDGELAT_PARTITIONS="https://h.example/…?key=…"');
    for (const secret of ['secretpw', 'p@ss', 'KPw1', 'qsecret']) {
      expect([message({ EDGELAT_SCHEMA_REGISTRY_URL: 'bob:secretpw@host:8081' }), message({ EDGELAT_SCHEMA_REGISTRY_URL: 'ftp://bob:p@ss@host:8081' }), message({ EDGELAT_KAFKA_BROKERS: 'kuser:KPw1@broker:9092' }), message({ EDGELAT_CLICKHOUSE_URL: 'http://localhost:8123/?password=qsecret' })].join('\n')).not.toContain(secret);
    }
    expect(() => loadConfig({ EDGELAT_CLICKHOUSE_URL: 'ftp://admin:s3cret@host' })).not.toThrow(/s3cret/);
    // A URL variable holding no scheme may be a token pasted alone: its length only (a security trial saw it whole).
    expect(message({ EDGELAT_ALERTS_WEBHOOK_URL: 'WTOKENnotaurl' })).toBe('bad configuration: EDGELAT_ALERTS_WEBHOOK_URL=[13 characters, not shown: no scheme such as http:// before them]: must be an http(s) URL');
    // A "%" that starts no escape in the registry's login: refused here, not "URI malformed" after a Kafka connection (a trial).
    expect(message({ EDGELAT_SCHEMA_REGISTRY_URL: 'http://u:50%off@127.0.0.1:18082/' })).toContain('EDGELAT_SCHEMA_REGISTRY_URL="http://…@127.0.0.1:18082/": its password has a "%" that starts no percent-escape (%XX): write a "%" of it as %25');
    expect(message({ EDGELAT_SCHEMA_REGISTRY_URL: 'http://u:50%off@127.0.0.1:18082/' })).not.toContain('50%off');
    expect(() => loadConfig({ EDGELAT_KAFKA_BROKERS: 'nohostport' })).toThrow(/EDGELAT_KAFKA_BROKERS="nohostport": must be host:port/);
    expect(() => loadConfig({ EDGELAT_KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/needs EDGELAT_KAFKA_SASL_USERNAME/);
    // Enum values in any case (a trial: Kafka's own PLAIN, TRUE and INFO were refused).
    const upper = loadConfig({ EDGELAT_KAFKA_BROKERS: 'k:9092', EDGELAT_KAFKA_SASL_MECHANISM: 'PLAIN', EDGELAT_KAFKA_SASL_USERNAME: 'u', EDGELAT_KAFKA_SASL_PASSWORD: 'p', EDGELAT_KAFKA_TLS: 'TRUE', EDGELAT_LOG_LEVEL: 'INFO', EDGELAT_SHADOWS: 'True', EDGELAT_KAFKA_COMPRESSION: 'GZIP' });
    expect([upper.kafka?.sasl?.mechanism, upper.kafka?.tls, upper.logLevel, upper.shadows.enabled, upper.kafka?.compression]).toEqual(['plain', true, 'info', true, 'gzip']);
    // Blanks around them as around numbers (a trial: EDGELAT_PARTITIONS=" 4" was taken, EDGELAT_LOG_LEVEL="warn " refused).
    expect([loadConfig({ EDGELAT_LOG_LEVEL: 'warn ' }).logLevel, loadConfig({ EDGELAT_SHADOWS: ' true' }).shadows.enabled]).toEqual(['warn', true]);
    expect(() => loadConfig({ EDGELAT_KAFKA_TLS: 'yes' })).toThrow('EDGELAT_KAFKA_TLS="yes": must be one of "true", "false"');
    // The schema's bounds in the words of the other checks (a trial: "Too big: expected number to be <=1").
    expect(() => loadConfig({ EDGELAT_ALERT_THRESHOLD: '1.5' })).toThrow(/^bad configuration: EDGELAT_ALERT_THRESHOLD="1\.5": must be at most 1$/);
    expect(() => loadConfig({ EDGELAT_SHADOW_TOLERANCE: '0' })).toThrow(/^bad configuration: EDGELAT_SHADOW_TOLERANCE="0": must be above 0$/);
    // The client refused URL parameters with "Unknown URL parameters: database", naming no variable; a login in the URL is refused too, and not shown.
    expect(() => loadConfig({ EDGELAT_CLICKHOUSE_URL: 'http://127.0.0.1:8123/?database=foo' })).toThrow('bad configuration: EDGELAT_CLICKHOUSE_URL="http://127.0.0.1:8123/?database=…": must have no query string (?database=…, ?x=…): the database is EDGELAT_DATABASE, settings are not taken');
    expect(() => loadConfig({ EDGELAT_CLICKHOUSE_URL: 'http://u:s3cret@127.0.0.1:8123' })).toThrow(/^bad configuration: EDGELAT_CLICKHOUSE_URL="[^"]*": must have no user or password in it: give them as EDGELAT_CLICKHOUSE_USER and EDGELAT_CLICKHOUSE_PASSWORD$/);
    expect(() => loadConfig({ EDGELAT_CLICKHOUSE_URL: 'http://u:s3cret@127.0.0.1:8123' })).not.toThrow(/s3cret/);
    expect(loadConfig({ EDGELAT_CLICKHOUSE_URL: 'http://127.0.0.1:8123/proxy' }).clickhouse?.url).toBe('http://127.0.0.1:8123/proxy');
  });

  it('refuses an EDGELAT_ variable it does not know, naming the nearest (a typo left the default in force without a word); EDGELAT_TEST_* are the tests\'', () => {
    // Every unknown one at once, sorted.
    expect(() => loadConfig({ EDGELAT_WINDOW_SIZE: '60000', EDGELAT_DATADIR: '/tmp/x' })).toThrow(/^bad configuration: EDGELAT_DATADIR is not an edgelat variable \(nearest: EDGELAT_DATA_DIR, [^)]+\); EDGELAT_WINDOW_SIZE is not/);
    expect(() => loadConfig({ EDGELAT_WINDOW_SIZE: '60000' })).toThrow(/^bad configuration: EDGELAT_WINDOW_SIZE is not an edgelat variable \(nearest: EDGELAT_WINDOW_SIZE_MS, [^)]+\); the README's Configuration table lists them$/);
    // A mistyped name does not hide a bad value of another (a trial saw only the first).
    expect(() => loadConfig({ EDGELAT_WINDOW_SIZ: '1', EDGELAT_PARTITIONS: 'x' })).toThrow(/^bad configuration: EDGELAT_WINDOW_SIZ is not an edgelat variable \(nearest: [^)]+\); the README's Configuration table lists them; EDGELAT_PARTITIONS="x": /);
    expect(loadConfig({ EDGELAT_TEST_KAFKA_BROKERS: 'x:1' }).windowSizeMs).toBe(300_000);
  });

  it('names the variables of an alert policy that does not hold together (it said "EDGELAT_ALERT_*: alert fireAfter")', () => {
    expect(() => loadConfig({ EDGELAT_ALERT_FIRE_AFTER: '42' })).toThrow('bad configuration: EDGELAT_ALERT_FIRE_AFTER: expected ≤ EDGELAT_ALERT_LOOKBACK (20), got 42');
    expect(() => loadConfig({ EDGELAT_ALERT_HYSTERESIS: '0.95' })).toThrow('bad configuration: EDGELAT_ALERT_HYSTERESIS: expected 0 ≤ hysteresis < EDGELAT_ALERT_THRESHOLD (0.5), got 0.95');
  });
});
