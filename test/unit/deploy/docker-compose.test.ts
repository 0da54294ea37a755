import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../../services/config.ts';

interface Service {
  image?: string;
  ports?: string[];
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
      expect(config.kafka?.brokers).toEqual(['kafka:19092']);
      expect(config.clickhouse?.url).toBe('http://clickhouse:8123');
      expect(config.clickhouse?.username).toBe(compose.services.clickhouse!.environment!.CLICKHOUSE_USER);
    }
  });

  it('advertises a listener the compose services reach (kafka:19092) and one the host reaches on the published port (a README trial: only kafka:9092 was advertised, a name the host cannot resolve)', () => {
    const env = compose.services.kafka!.environment!;
    const byName = (list: string) => new Map(list.split(',').map((l) => { const [name, rest] = l.split('://'); return [name!, rest!] as const; }));
    const listeners = byName(env.KAFKA_LISTENERS!);
    const advertised = byName(env.KAFKA_ADVERTISED_LISTENERS!);
    const protocols = byName(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.replaceAll(':', '://'));
    // Every advertised listener is one the broker listens on, on the same port, with a security protocol.
    for (const [name, address] of advertised) {
      expect(listeners.get(name)?.split(':').pop(), name).toBe(address.split(':').pop());
      expect(protocols.has(name), name).toBe(true);
    }
    expect([...advertised.values()]).toContain('kafka:19092');
    expect(env.KAFKA_INTER_BROKER_LISTENER_NAME).toBe([...advertised].find(([, a]) => a === 'kafka:19092')![0]);
    // The host's: advertised as 127.0.0.1:<port>, and that port published on the host's loopback.
    const host = [...advertised.values()].find((a) => a.startsWith('127.0.0.1:'))!;
    expect(compose.services.kafka!.ports).toContain(`${host}:${host.split(':')[1]}`);
    expect(host).toBe('127.0.0.1:9092'); // the README's EDGELAT_KAFKA_BROKERS
  });
});
