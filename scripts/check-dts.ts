/**
 * The published types import only what a consumer installs with the package: relative files and
 * `dependencies` that ship their own types. (A dev dependency's types, such as `@types/opossum`,
 * would compile here and fail in an app with `skipLibCheck: false`.) Run by `npm run check:package`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies?: Record<string, string> };
const allowed = new Set(Object.keys(pkg.dependencies ?? {}).filter((d) => d !== 'opossum' && d !== 'p-retry' && d !== 'eventsource-parser'));
/** A subpath's own optional peer, whose types only that subpath's declarations may import (its users install it). */
const subpathPeers: Record<string, string> = { 'ai-sdk': '@ai-sdk/provider', langchain: '@langchain/core' };
const problems: string[] = [];
for (const file of readdirSync('dist').filter((f) => /\.d\.c?ts$/.test(f))) {
  const text = readFileSync(join('dist', file), 'utf8');
  const ownPeer = subpathPeers[file.replace(/\.d\.c?ts$/, '')];
  for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
    if (spec.startsWith('.') || spec.startsWith('node:')) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    if (!allowed.has(name) && name !== ownPeer) problems.push(`${file} imports "${spec}"`);
  }
  for (const internal of ['declare class Actor ', 'declare class PendingCall', 'declare class Deadlines']) {
    if (text.includes(internal)) problems.push(`${file} declares an internal: ${internal.trim()}`);
  }
}
if (problems.length > 0) {
  console.error(`published types expose what they should not:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`published types: imports only ${[...allowed].join(', ')} and their own files; no internals`);
