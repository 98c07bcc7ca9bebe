/**
 * First contact: every example and the CLI answer `--help` and `-h` with their usage and exit 0,
 * and a Node older than the `engines` field gets one clear line, before anything crashes on it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MIN_NODE, nodeTooOld } from '../../src/runtime/node-version.js';

const run = promisify(execFile);

describe('--help everywhere', () => {
  it.each([
    ['examples/streaming-chat.ts', 'usage: npm run chat'],
    ['examples/cluster.ts', 'usage: npm run cluster'],
    ['examples/llm-router.ts', 'usage: npm run llm-router'],
    ['examples/dashboard.ts', 'usage: npm run dashboard'],
    ['examples/supervised-counter.ts', 'usage: npx tsx examples/supervised-counter.ts'],
    ['examples/ai-sdk.ts', 'usage: npm run ai-sdk'],
    ['examples/langchain.ts', 'usage: npm run langchain'],
    ['src/cli.ts', 'usage: cortex-otp serve'],
  ])('%s', async (file, usage) => {
    for (const flag of ['--help', '-h']) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file, flag], { timeout: 20_000 });
      expect(stdout).toContain(usage);
    }
  });
});

describe('an old Node', () => {
  it('is refused in one line naming the version wanted and the one found', () => {
    expect(nodeTooOld('20.20.2')).toBe(`cortex-otp needs Node >= ${MIN_NODE}, found v20.20.2`);
    expect(nodeTooOld('22.11.0')).toBeDefined();
    expect(nodeTooOld('22.12.0')).toBeUndefined();
    expect(nodeTooOld('24.0.0')).toBeUndefined();
  });

  it('the minimum is the engines field, which the npm scripts check first (scripts/check-node.mjs)', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
    for (const s of ['test', 'chat', 'cluster', 'llm-router', 'dashboard', 'serve', 'bench', 'ai-sdk', 'langchain']) expect(pkg.scripts[`pre${s}`]).toBe('node scripts/check-node.mjs');
    await expect(run(process.execPath, ['scripts/check-node.mjs'])).resolves.toMatchObject({ stderr: '' }); // this Node is recent enough
  });
});
