/**
 * `cortex-otp serve` as a user starts it, and the gateway guide's curl examples run against it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { serveCli } from '../support/serve-cli.js';

const run = promisify(execFile);

/** The gateway guide's sh blocks that are curl commands. */
function curlBlocks(): string[] {
  const md = readFileSync('docs/guides/gateway.md', 'utf8');
  return [...md.matchAll(/```sh\n(curl[\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

describe("cortex-otp serve and the gateway guide's curl examples", () => {
  it("serves a config file behind the gateway; the guide's curl commands get answers", async () => {
    const served = serveCli({ workers: [{ kind: 'demo' }] }, { CORTEX_GATEWAY_KEYS: 'my-gateway-key' });
    try {
      const url = await served.url;
      const blocks = curlBlocks();
      expect(blocks.length).toBe(2);
      const [openaiOut, ollamaOut] = await Promise.all(blocks.map(async (b) => (await run('bash', ['-c', b.replaceAll('http://127.0.0.1:8080', url)])).stdout));
      const answer = JSON.parse(openaiOut!) as { choices: Array<{ message: { content: string } }> };
      expect(answer.choices[0]!.message.content).toContain('demo worker');
      const lines = ollamaOut!.trim().split('\n').map((l) => JSON.parse(l) as { done: boolean });
      expect(lines.at(-1)!.done).toBe(true);
      const unauthorised = await run('bash', ['-c', blocks[0]!.replaceAll('http://127.0.0.1:8080', url).replace('my-gateway-key', 'wrong-key-value') + ' -o /dev/null -w "%{http_code}"']);
      expect(unauthorised.stdout).toBe('401');
    } finally {
      served.dispose();
    }
  }, 30_000);

  it('--help, -h and --version exit 0; a short key in CORTEX_GATEWAY_KEYS is refused by that name, never shown', async () => {
    for (const args of [['--help'], ['-h'], ['serve', '--help']]) {
      const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args]);
      expect(r.stdout).toContain('usage: cortex-otp serve --config FILE');
    }
    expect((await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--version'])).stdout.trim()).toMatch(/^cortex-otp \d+\.\d+\.\d+$/);
    const short = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', 'x.json'], { env: { ...process.env, CORTEX_GATEWAY_KEYS: 'long-enough-key,short7k' } }).catch((e: { code: number; stderr: string }) => e);
    expect((short as { code: number }).code).toBe(2);
    expect((short as { stderr: string }).stderr).toContain('CORTEX_GATEWAY_KEYS: every key must be at least 8 characters');
    expect((short as { stderr: string }).stderr).not.toContain('short7k');
  });

  it('says how to call it when the command line is wrong (exit 2)', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve']).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('--config is needed');
    expect((r as { stderr: string }).stderr).toContain('usage: cortex-otp serve --config FILE');
  });

  it("the pools guide's sample cortex.json runs as given on a fresh machine: the demo answers; the fast route says it needs GROQ_API_KEY", async () => {
    const md = readFileSync('docs/guides/pools-and-failover.md', 'utf8');
    const sample = JSON.parse(/```json\n([\s\S]*?)```/.exec(md)![1]!) as { store: object };
    const { parseConfig, startWorkers } = await import('../../src/index.js');
    const { serveGateway } = await import('../../src/gateway.js');
    const env = { GROQ_API_KEY: process.env.GROQ_API_KEY, ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY, CORTEX_REDIS_URL: process.env.CORTEX_REDIS_URL, OLLAMA_HOST: process.env.OLLAMA_HOST };
    delete process.env.GROQ_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    process.env.CORTEX_REDIS_URL = 'redis://127.0.0.1:1'; // no Redis there
    const cortex = await startWorkers({ config: parseConfig(sample, 'the sample cortex.json') });
    const g = await serveGateway(cortex);
    try {
      const ask = (content: string): Promise<Response> => fetch(`${g.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content }] }) });
      const long = await ask('Tell me, in a few sentences, how a supervisor decides to restart the children it looks after.');
      expect(long.status).toBe(200);
      // The demo answers (or Ollama, on a machine that runs one with the model).
      expect(((await long.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content.length).toBeGreaterThan(0);
      const short = await ask('Hello');
      expect(short.status).toBe(503);
      const { error } = (await short.json()) as { error: { message: string } };
      expect(error.message).toContain('no workers available for route "fast"');
      expect(error.message).toContain('GROQ_API_KEY');
      expect((await cortex.dispatcher.status()).store).toMatchObject({ degraded: true, trouble: 'unreachable' });
    } finally {
      await g.close(0);
      await cortex.stop({ drainMs: 0 });
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }, 30_000);
});

