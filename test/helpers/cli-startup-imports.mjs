// Runs the edgelat CLI with the given arguments and prints, on stderr's last line, the npm packages
// its process loaded: JSON {"packages": [...]} (test/unit/cli/startup-imports.test.ts).
import { register } from 'tsx/esm/api';

const packages = new Set();
register({
  onImport: (url) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.add(m[1]);
  },
});
process.on('exit', () => process.stderr.write(`\n${JSON.stringify({ packages: [...packages].sort() })}\n`));
process.argv = [process.argv[0], new URL('../../bin/edgelat.js', import.meta.url).pathname, ...process.argv.slice(2)];
await import('../../services/cli/main.ts');
