/**
 * The demo's "try:" commands carry the run's data folder and database when the environment set them, quoted for a
 * POSIX shell where needed (a trial: pasted as shown, they read ./.edgelat, not the demo's folder).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { suggestionPrefix } from '../../../services/cli/demo.ts';
import { embeddedOnlyNote } from '../../../services/config.ts';

describe('suggestionPrefix', () => {
  it('is plain npx edgelat without settings, and names the set ones before it', () => {
    expect(suggestionPrefix({})).toBe('npx edgelat');
    expect(suggestionPrefix({ EDGELAT_DATA_DIR: '', EDGELAT_DATABASE: '' })).toBe('npx edgelat');
    expect(suggestionPrefix({ EDGELAT_DATA_DIR: '/tmp/d6', EDGELAT_DATABASE: 'lab' })).toBe('EDGELAT_DATA_DIR=/tmp/d6 EDGELAT_DATABASE=lab npx edgelat');
  });

  it('outside the package\'s folder, runs its bin/edgelat.js with node (a trial: npx would look edgelat up in the npm registry)', () => {
    expect(suggestionPrefix({}, '/srv/app', '/srv/app')).toBe('npx edgelat');
    expect(suggestionPrefix({}, '/srv/app/data/run1', '/srv/app')).toBe('npx edgelat');
    expect(suggestionPrefix({}, '/home/me', '/srv/app')).toBe('node /srv/app/bin/edgelat.js');
    expect(suggestionPrefix({}, '/srv/app-2', '/srv/app')).toBe('node /srv/app/bin/edgelat.js');
    expect(suggestionPrefix({ EDGELAT_DATABASE: 'lab' }, '/tmp', '/opt/my tools/edgelat')).toBe("EDGELAT_DATABASE=lab node '/opt/my tools/edgelat/bin/edgelat.js'");
  });

  it('quotes a value a shell would split or expand, and the shell reads it back unchanged', () => {
    const dir = "/tmp/my data/it's $HOME";
    const prefix = suggestionPrefix({ EDGELAT_DATA_DIR: dir });
    expect(prefix).toBe(`EDGELAT_DATA_DIR='/tmp/my data/it'\\''s $HOME' npx edgelat`);
    // sh -c runs the prefix with printenv in place of npx edgelat: the variable is the folder as given.
    expect(execFileSync('sh', ['-c', prefix.replace(/npx edgelat$/, 'printenv EDGELAT_DATA_DIR')], { encoding: 'utf8' })).toBe(`${dir}\n`);
  });

  it('empties a ClickHouse server URL of the environment, since the demo ran embedded; demo and serve say so (a trial: the pasted query read the server)', () => {
    expect(suggestionPrefix({ EDGELAT_CLICKHOUSE_URL: 'http://127.0.0.1:18123', EDGELAT_DATABASE: 'viaserver' })).toBe('EDGELAT_CLICKHOUSE_URL= EDGELAT_DATABASE=viaserver npx edgelat');
    expect(suggestionPrefix({ EDGELAT_CLICKHOUSE_URL: '' })).toBe('npx edgelat');
    const config = { clickhouse: { url: 'http://user:pw@ch:8123', username: 'u', password: 'p' }, dataDir: '/tmp/x', database: 'viaserver' };
    expect(embeddedOnlyNote('demo', config)).toBe('edgelat: note: demo writes the embedded warehouse in "/tmp/x/chdb" (database viaserver), not the ClickHouse server of EDGELAT_CLICKHOUSE_URL "http://[redacted]@ch:8123", which it does not use (`edgelat pipeline run` writes to a server)');
    expect(embeddedOnlyNote('serve', config)).toMatch(/^edgelat: note: serve serves the embedded warehouse in "\/tmp\/x\/chdb" \(database viaserver\), not the ClickHouse server .* \(query the server itself\)$/);
    expect(embeddedOnlyNote('demo', { ...config, clickhouse: null })).toBeNull();
  });
});
