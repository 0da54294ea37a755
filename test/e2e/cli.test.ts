import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat } from '../helpers/edgelat-cli.ts';
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';



/** A1 on a small fleet: the demo prints non-zero counts, and `edgelat sql` reads the same number back. */
describe('edgelat CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-cli-'));

  it('demo prints the summary and sql reads the same enriched count back', async () => {
    const demo = await edgelat(['demo', '--duration', '4', '--servers', '6', '--seed', '3'], dataDir);
    expect(demo.stderr).not.toMatch(/error/i);
    expect(demo.code).toBe(0);
    const enriched = Number(/enriched rows\s+([\d,]+)/.exec(demo.stdout)![1]!.replaceAll(',', ''));
    expect(enriched).toBeGreaterThan(1000);
    expect(Number(/dead letters\s+(\d+)/.exec(demo.stdout)![1])).toBe(3);
    expect(demo.stdout).toMatch(/strongest load-versus-latency correlations/);
    expect(demo.stdout).toMatch(/p99_ms/);
    const sql = await edgelat(['sql', 'SELECT count() FROM edgelat.inference_enriched', '--format', 'csv'], dataDir);
    expect(sql.code).toBe(0);
    expect(sql.stdout.trim()).toBe(String(enriched));
    const bound = await edgelat(['sql', 'SELECT count() FROM edgelat.inference_enriched WHERE edge_server_id = {s:String}', '-f', 'json', '--param', 's=edge-01'], dataDir);
    expect(Number(JSON.parse(bound.stdout.trim())['count()'])).toBeGreaterThan(0);
  });

  it('says in one line when another process holds the embedded warehouse', async () => {
    const holder = new ChdbWarehouse({ dataDir: join(dataDir, 'chdb') });
    try {
      const sql = await edgelat(['sql', 'SELECT 1'], dataDir);
      expect(sql.code).toBe(1);
      expect(sql.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual([
        `edgelat: another edgelat process holds the embedded warehouse at ${JSON.stringify(join(dataDir, 'chdb'))}; stop it or set EDGELAT_DATA_DIR to another folder`,
      ]);
    } finally {
      await holder.close();
    }
  });

  it('rejects bad usage with exit code 2 and a reason, and has help', async () => {
    const bad = await edgelat(['demo', '--servers', 'many'], dataDir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--servers must be an integer from 1 to 1000, got "many"/);
    expect((await edgelat(['demo', '--bogus'], dataDir)).code).toBe(2);
    expect((await edgelat(['sql'], dataDir)).code).toBe(2);
    const version = await edgelat(['--version'], dataDir);
    expect([version.code, version.stdout.trim()]).toEqual([0, '0.1.0']);
    const help = await edgelat(['--help'], dataDir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/demo/);
    expect(help.stdout).toMatch(/EDGELAT_DATA_DIR/);
    const badSql = await edgelat(['sql', 'SELEC nonsense'], dataDir);
    expect(badSql.code).toBe(1);
    expect(badSql.stderr).toMatch(/^edgelat: query failed: Code: \d+\. DB::Exception: /m);
  });
});
