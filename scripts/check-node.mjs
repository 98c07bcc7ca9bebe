// Says in one line that this Node is too old (package.json `engines`), before a script crashes on it.
// Plain JavaScript, so that it runs on any Node: `npm test`, `npm run chat` and the other scripts run it first.
import { readFileSync } from 'node:fs';

const wanted = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node.replace(/^>=\s*/, '');
const [major, minor] = process.versions.node.split('.').map(Number);
const [wantMajor, wantMinor] = wanted.split('.').map(Number);
if (major < wantMajor || (major === wantMajor && minor < wantMinor)) {
  console.error(`cortex-otp needs Node >= ${wanted}, found v${process.versions.node}`);
  process.exit(1);
}
