/**
 * Published MACs of the reference models (`data/model-profiles/reference-macs.csv`,
 * sources in that folder's README): the recommender scales new models by them
 * and the deployment history gives its versions profiles from them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsvRecordLines } from './csv.ts';
import { defaultDataDir } from './data.ts';

/**
 * Read the published MACs per model id.
 * @param dataDir  Folder holding `model-profiles/`. @default the repository's data/
 * @returns        model_id → multiply-accumulates per inference.
 * @throws {RangeError} naming the file and line of a MACs value that is not a positive number.
 */
export function readReferenceMacs(dataDir: string = defaultDataDir()): Map<string, number> {
  const file = path.join(dataDir, 'model-profiles', 'reference-macs.csv');
  const out = new Map<string, number>();
  for (const { line, record: r } of parseCsvRecordLines(readFileSync(file, 'utf8')).rows) {
    const macs = Number(r.macs);
    if (!(macs > 0)) throw new RangeError(`${file}:${line}: macs: expected a positive number, got ${JSON.stringify(r.macs)}`);
    out.set(r.model_id!, macs);
  }
  return out;
}
