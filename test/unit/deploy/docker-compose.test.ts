import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../../services/config.ts';

interface Service {
  image?: string;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

/** B6: docker-compose.yml parses, and its services, health checks and environment match the configuration module. */
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(new URL('../../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { services: Record<string, Service> };

  it('has Kafka (KRaft), a pinned ClickHouse server, the pipeline and the simulator', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['clickhouse', 'kafka', 'pipeline', 'simulate']);
    expect(compose.services.kafka!.environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.clickhouse!.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+/);
  });

  it('gives every long-running service a health check, and starts edgelat after healthy dependencies', () => {
    for (const name of ['kafka', 'clickhouse', 'pipeline']) expect(compose.services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
    expect(compose.services.pipeline!.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, clickhouse: { condition: 'service_healthy' } });
  });

  it('uses only EDGELAT_* variables the configuration module reads, with values it accepts', () => {
    for (const name of ['pipeline', 'simulate']) {
      const env = compose.services[name]!.environment!;
      const vars = Object.keys(env).filter((k) => k.startsWith('EDGELAT_'));
      expect(vars.length).toBeGreaterThan(3);
      for (const v of vars) expect(CONFIG_VARIABLES, `${name}: ${v}`).toContain(v);
      const config = loadConfig(env);
      expect(config.kafka?.brokers).toEqual(['kafka:9092']);
      expect(config.clickhouse?.url).toBe('http://clickhouse:8123');
      expect(config.clickhouse?.username).toBe(compose.services.clickhouse!.environment!.CLICKHOUSE_USER);
    }
  });
});
