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

function runChat(args: string[], input = '', env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/streaming-chat.ts', ...args],
      { cwd: root, env: { ...process.env, OLLAMA_HOST: '', ...env }, timeout: 30_000 },
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

  it.each([
    ['an unknown flag', ['--nope'], "Unknown option '--nope'"],
    ['--prompt without a value', ['--prompt'], "argument missing"],
    ['a bad --ollama-url', ['--ollama-url', 'http://[::bad', '--prompt', 'x'], '--ollama-url: expected a URL'],
  ])('%s: prints the usage line and exits 2, no stack trace', async (_what, args, message) => {
    const r = await runChat(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: npm run chat --');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('event lines go to stderr on their own lines, never inside the answer, even on one terminal', async () => {
    // Ollama down: health, failover and finish lines come while the demo answers. Both streams
    // into one pipe, as on a terminal.
    const merged = await new Promise<string>((resolve) => {
      execFile('sh', ['-c', `"${process.execPath}" --import tsx examples/streaming-chat.ts --prompt Hi 2>&1`], { cwd: root, env: { ...process.env, OLLAMA_HOST: '' }, timeout: 30_000 }, (_e, out) => resolve(out));
    });
    const lines = merged.split('\n').filter((l) => l !== '');
    expect(lines.some((l) => l.includes('You said: "Hi"'))).toBe(true);
    expect(lines.filter((l) => l.includes('[cortex]')).every((l) => l.startsWith('[cortex] '))).toBe(true);
  });

  it('a missing API key says which variable to set', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'cortex-chat-'));
    try {
      const file = join(dir, 'cortex.json');
      writeFileSync(file, JSON.stringify({ workers: [{ kind: 'openai', preset: 'groq', model: 'llama-3.1-8b-instant', priority: 1 }, { kind: 'demo', name: 'demo', priority: 1000 }] }));
      const r = await runChat(['--prompt', 'Hi', '--config', file], '', { GROQ_API_KEY: '' });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('set the environment variable GROQ_API_KEY');
      expect(r.stderr).not.toContain('rejected credentials');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
