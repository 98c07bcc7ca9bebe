import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs `examples/cluster.ts` as a user would (`npm run cluster -- ...`), with tsx. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runWith(args, {});
}

function runWith(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/cluster.ts', () => {
  it('two processes share one backend limit of 2 through a redis-server it starts', async () => {
    const out = await run(['--start-redis', '--requests', '8']);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines.slice(0, 2).map((l) => JSON.parse(l) as { outcomes: unknown; degraded: boolean })).toEqual([
      expect.objectContaining({ outcomes: { completed: 8 }, degraded: false }),
      expect.objectContaining({ outcomes: { completed: 8 }, degraded: false }),
    ]);
    expect(lines[2]).toBe('the backend saw at most 2 requests at once (limit 2, across both instances)');
  }, 30_000);

  it('says how to call it when a flag is wrong (exit 2)', async () => {
    const out = await run(['--requests', 'many']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--requests: expected a whole number from 1 to 1000, got many');
    expect(out.stderr).toContain('usage: npm run cluster --');
  });

  it('says Redis was not reachable, and exits 1, when the limit was held per instance only', async () => {
    const out = await runWith(['--requests', '3'], { CORTEX_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('could not be reached: each instance held the limit alone');
    expect(out.stderr).toContain('--start-redis');
  }, 30_000);

  it('--help and -h exit 0 with the usage', async () => {
    for (const flag of ['--help', '-h']) {
      const out = await run([flag]);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('usage: npm run cluster --');
    }
  });
});

