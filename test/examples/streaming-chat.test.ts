import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../../src/testing.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let fake: FakeOllama | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function runChat(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/streaming-chat.ts', ...args],
      { cwd: root, env: { ...process.env, OLLAMA_HOST: '' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

describe('examples/streaming-chat.ts', () => {
  it('answers once from Ollama with --prompt, showing which worker answered', async () => {
    fake = await startFakeOllama({ script: { chunks: ['Bonjour', ' !'] } });
    const r = await runChat(['--prompt', 'Salut', '--ollama-url', fake.url]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('[ollama-local] Bonjour !');
    expect(fake.requests[0]!.messages).toEqual([{ role: 'user', content: 'Salut' }]);
    expect(r.stderr).toContain('health ollama-local: available');
  });

  it('falls back to the demo worker, which says it is a demo, when Ollama is down', async () => {
    fake = await startFakeOllama();
    const url = fake.url;
    await fake.close();
    fake = undefined;
    const r = await runChat(['--prompt', 'Anyone there?', '--ollama-url', url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[demo] (This is cortex's built-in demo worker, not a language model");
    expect(r.stdout).toContain('You said: "Anyone there?"');
  });

  it('keeps the conversation history in interactive mode', async () => {
    fake = await startFakeOllama({ script: { chunks: ['ok'] } });
    const r = await runChat(['--ollama-url', fake.url, '--quiet'], 'one\ntwo\n/quit\n');
    expect(r.code).toBe(0);
    expect(fake.requests.map((q) => q.messages)).toEqual([
      [{ role: 'user', content: 'one' }],
      [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'two' },
      ],
    ]);
  });

  it('--fail-mid-answer shows the switch to another worker and still completes the answer', async () => {
    fake = await startFakeOllama({ script: { chunks: ['a ', 'b ', 'c ', 'd ', 'e ', 'f'] } });
    const r = await runChat(['--prompt', 'go', '--ollama-url', fake.url, '--fail-mid-answer']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('[ollama-local] a b c d ')).toBe(true);
    expect(r.stderr).toContain('failing over from ollama-local, continuing after 8 chars');
    expect(r.stdout).toMatch(/\n\[demo(-flaky)?\] /); // the continuation, marked with its worker
    expect(r.stderr).toMatch(/complete from demo/);
    expect(fake.requests).toHaveLength(1); // a worker that broke is not asked again for this answer
  });
});
