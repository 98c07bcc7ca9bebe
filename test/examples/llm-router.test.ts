/**
 * examples/llm-router.ts: an async router that asks a small model of the pool itself which
 * worker tag should answer. Against a fake Ollama whose "classifier" model answers by keywords.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/index.js';
import { MockWorker, startFakeOllama, type FakeOllama, type FakeOllamaRequest } from '../../src/testing.js';
import { llmRouter } from '../../examples/llm-router.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MODELS = ['tiny', 'coder-model', 'translator-model', 'general-model'];
let fake: FakeOllama | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** The classifier model answers one word by keywords; the others say who they are. */
function script(r: FakeOllamaRequest) {
  const text = r.messages.at(-1)!.content.toLowerCase();
  if (r.model !== 'tiny') return { chunks: [`answer from ${r.model}`] };
  return { chunks: [/function|code/.test(text) ? 'Code' : /translate/.test(text) ? 'translate.' : 'general'] };
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'examples/llm-router.ts', ...args], { cwd: root, env: { ...process.env, OLLAMA_HOST: '' }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('examples/llm-router.ts', () => {
  it('the classifier model of the pool routes each question to its worker', async () => {
    fake = await startFakeOllama({ models: MODELS, script });
    const models = ['--classifier', 'tiny', '--coder', 'coder-model', '--translator', 'translator-model', '--general', 'general-model'];
    const code = await run(['--ollama-url', fake.url, ...models, '--prompt', 'write a function that reverses a string']);
    expect(code.stdout.trim()).toBe('[coder] answer from coder-model');
    const translate = await run(['--ollama-url', fake.url, ...models, '--prompt', 'translate "good morning" to French']);
    expect(translate.stdout.trim()).toBe('[translator] answer from translator-model');
    // The classifier got the instruction at temperature 0, and its own request was never routed through it again.
    const asked = fake.requests.filter((r) => r.model === 'tiny');
    expect(asked).toHaveLength(2);
    expect(asked[0]!.body.options).toMatchObject({ temperature: 0, num_predict: 4 });
  });

  it('a classifier that fails or answers nonsense leaves the request unrouted; it is still answered', async () => {
    let cortex: Workers | undefined;
    const classifier = new MockWorker({ name: 'classifier', tags: ['classifier'], priority: 1, chunks: ['banana'] });
    const general = new MockWorker({ name: 'general', tags: ['general'], priority: 5, chunks: ['fine'] });
    cortex = await startWorkers({ workers: [classifier, general], route: llmRouter(() => cortex), healthIntervalMs: 0 });
    try {
      // 'banana' is no tag: unrouted, the strategy picks (the classifier itself, by priority).
      expect((await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).workers).toEqual(['classifier']);
      classifier.set({ failOnStart: true, chunks: ['general'] });
      expect((await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).text).toBe('fine'); // router failed: unrouted, failed over
      classifier.set({ failOnStart: false });
      expect((await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).workers).toEqual(['general']);
    } finally {
      await cortex.stop();
    }
  });

  it('says what it needs when a model is not pulled (exit 1), and --help exits 0', async () => {
    fake = await startFakeOllama({ models: ['tiny', 'coder-model'], script });
    const out = await run(['--ollama-url', fake.url, '--classifier', 'tiny', '--coder', 'coder-model', '--translator', 'absent-model', '--general', 'gone-model', '--prompt', 'hi']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`llm-router needs Ollama at ${fake.url} with these models pulled`);
    expect(out.stderr).toMatch(/translator: .*absent-model/);
    expect(out.stderr).toContain('ollama pull MODEL');
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run llm-router');
  });
});

