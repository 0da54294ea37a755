/**
 * The benchmarks under bench/ run with tsx, outside vitest, and a module that imports vitest there
 * throws "Vitest failed to access its internal state" at once (a trial found `npm run bench:kafka`
 * dead that way). Every test helper a benchmark imports, and every helper those import, stays free of vitest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Relative imports of a TypeScript file, resolved against its folder. */
const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^\s*import\s[^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => resolve(dirname(file), m[1]!));
const importsVitest = (file: string): boolean => /^\s*import\s[^'"]*['"]vitest['"]/m.test(readFileSync(file, 'utf8'));

describe('benchmarks run outside vitest', () => {
  it('import no test helper that imports vitest, directly or through another helper', () => {
    const helpers = new Set<string>();
    const queue = readdirSync(join(ROOT, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'bench', f));
    for (const file of queue.splice(0)) for (const i of importsOf(file)) if (i.startsWith(join(ROOT, 'test'))) queue.push(i);
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (helpers.has(file)) continue;
      helpers.add(file);
      for (const i of importsOf(file)) if (i.startsWith(join(ROOT, 'test'))) queue.push(i);
    }
    expect([...helpers].map((f) => relative(ROOT, f)).sort()).toContain('test/helpers/kafka-mock.ts');
    expect([...helpers].filter(importsVitest).map((f) => relative(ROOT, f))).toEqual([]);
  });
});
