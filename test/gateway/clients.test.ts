/**
 * The gateway with real clients: the official `openai` and `ollama` npm clients, pointed at the
 * gateway, which is backed by the fake servers. The clients must not notice a failover, and must
 * notice a broken answer.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { OllamaWorker, OpenAIWorker, type Workers } from '../../src/index.js';
import { serveGateway, type GatewayServer } from '../../src/gateway.js';
import { useServers } from '../support/servers.js';
import { MockWorker } from '../../src/testing.js';

const { ollama, openai, start } = useServers();

async function gatewayOver(cortex: Workers, keys?: string[]): Promise<GatewayServer & { openai: OpenAI; ollama: Ollama }> {
  const g = await serveGateway(cortex, keys ? { keys } : {});
  return Object.assign(g, {
    openai: new OpenAI({ baseURL: `${g.url}/v1`, apiKey: keys?.[0] ?? 'unused', maxRetries: 0 }),
    ollama: new Ollama({ host: g.url }),
  });
}

describe('the official openai client through the gateway', () => {
  it('streams, answers at once, reports usage, and lists the models', async () => {
    const server = await ollama({ script: { chunks: ['Hel', 'lo', '!'], delayMs: 1 } });
    const { cortex } = await start([new OllamaWorker({ name: 'local', baseUrl: server.url })]);
    const g = await gatewayOver(cortex);
    try {
      const parts: string[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      const s = await g.openai.chat.completions.create({ model: 'any', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      for await (const c of s) {
        if (c.choices[0]?.delta.content) parts.push(c.choices[0].delta.content);
        if (c.usage) usage = c.usage;
      }
      expect(parts.join('')).toBe('Hello!');
      expect(usage?.completion_tokens).toBeGreaterThan(0);
      const once = await g.openai.chat.completions.create({ model: 'any', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
      expect(once.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' });
      expect(once.model).toBe('gemma3:4b');
      expect((await g.openai.models.list()).data.map((m) => m.id)).toEqual(['gemma3:4b', 'local']);
    } finally {
      await g.close();
    }
  });

  it('never notices a failover before the first chunk; notices a break mid-answer (no [DONE], an error)', async () => {
    const broken = await openai({ script: { status: 500, errorBody: 'object' } });
    const good = await ollama({ script: { chunks: ['fine'] } });
    const { cortex } = await start([
      new OpenAIWorker({ name: 'broken', baseUrl: broken.url, model: 'm', priority: 1 }),
      new OllamaWorker({ name: 'good', baseUrl: good.url, priority: 2 }),
    ]);
    const g = await gatewayOver(cortex);
    try {
      const s = await g.openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      expect(text).toBe('fine');
      expect(broken.requests).toHaveLength(1); // it was tried first, and failed over
    } finally {
      await g.close();
    }
    const midway = await ollama({ script: { chunks: ['partial', ' answer', ' never ends'], resetAfter: 1 } });
    const only = await start([new OllamaWorker({ name: 'midway', baseUrl: midway.url })]);
    const g2 = await gatewayOver(only.cortex);
    try {
      const s = await g2.openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      const read = async (): Promise<void> => {
        for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      };
      await expect(read()).rejects.toThrow(/broke off|interrupted|reset|connection/i);
      expect(text).toBe('partial');
    } finally {
      await g2.close();
    }
  });

  it('a client that aborts cancels the backend request; a bad key is 401; a full queue is 429 with retry-after; bad input is 400 naming the field', async () => {
    const server = await ollama({ script: { chunks: ['a', 'b', 'c'], stallAfter: 1 } });
    const { cortex } = await start([new OllamaWorker({ name: 'slow', baseUrl: server.url, maxConcurrent: 1 })], { maxQueue: 0 });
    const g = await gatewayOver(cortex, ['gateway-key-123']);
    try {
      const ctl = new AbortController();
      const s = await g.openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: ctl.signal });
      const it = s[Symbol.asyncIterator]();
      await it.next(); // the first chunk: the backend now stalls
      // The slot is held: a second request finds the queue full.
      const full = await g.openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(full).toBeInstanceOf(OpenAI.RateLimitError);
      expect((full as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('1');
      ctl.abort();
      await expect.poll(() => server.clientAborts).toBe(1); // the backend saw the cancel
      const bad = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'wrong-key-0000', maxRetries: 0 });
      await expect(bad.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const invalid = await g.openai.chat.completions.create({ model: 'x', messages: [{ role: 'robot' as 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
      expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('messages[0].role');
    } finally {
      await g.close();
    }
  });
});

describe('the model field through the gateway', () => {
  it('a tag, a worker name or a model routes; any other model lets the pool choose; tags are listed as models', async () => {
    const { cortex } = await start([
      new MockWorker({ name: 'general', priority: 1, chunks: ['general'] }),
      new MockWorker({ name: 'coder', priority: 5, chunks: ['code'], tags: ['code'], models: ['qwen-coder'] }),
    ]);
    const g = await gatewayOver(cortex);
    try {
      const ask = async (model: string): Promise<[string | null | undefined, string]> => {
        const r = await g.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
        return [r.choices[0]?.message.content, r.model];
      };
      expect(await ask('code')).toEqual(['code', 'qwen-coder']);
      expect(await ask('coder')).toEqual(['code', 'qwen-coder']);
      expect(await ask('gpt-4o')).toEqual(['general', 'mock-model']); // unknown here: the pool chooses
      expect((await g.openai.models.list()).data.map((m) => m.id).sort()).toEqual(['code', 'coder', 'general', 'mock-model', 'qwen-coder']);
      const viaOllama = await g.ollama.chat({ model: 'code', messages: [{ role: 'user', content: 'hi' }], stream: false });
      expect(viaOllama.message.content).toBe('code');
    } finally {
      await g.close();
    }
  });
});

describe("the gateway's Ollama lines", () => {
  it('are the bytes JSON.stringify gives, in Ollama\'s key order, whatever the text holds', async () => {
    const texts = ['plain', 'a "quote" and a \\ backslash', 'new\nline\ttab', 'é 日本 🙂', '\u2028\u0000 control', ''];
    const { cortex } = await start([new MockWorker({ name: 'w', models: ['m "odd" name'], chunks: texts })]);
    const g = await serveGateway(cortex);
    try {
      const res = await fetch(`${g.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'w', messages: [{ role: 'user', content: 'hi' }] }) });
      const lines = (await res.text()).split('\n').filter((l) => l !== '');
      const text = lines.slice(0, -1);
      expect(text.map((l) => (JSON.parse(l) as { message: { content: string } }).message.content)).toEqual(texts.filter((t) => t !== ''));
      for (const l of text) {
        const v = JSON.parse(l) as Record<string, unknown>;
        expect(Object.keys(v)).toEqual(['model', 'created_at', 'message', 'done']);
        expect(JSON.stringify(v)).toBe(l);
        expect(v).toMatchObject({ model: 'm "odd" name', message: { role: 'assistant' }, done: false });
        expect(new Date(v.created_at as string).toISOString()).toBe(v.created_at);
      }
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ done: true });
    } finally {
      await g.close();
    }
  });
});

describe('the official ollama client through the gateway', () => {
  it('streams, answers at once, and lists the models', async () => {
    const server = await openai({ script: { chunks: ['Bon', 'jour'] } });
    const { cortex } = await start([new OpenAIWorker({ name: 'cloud', baseUrl: server.url, model: 'gpt-test' })]);
    const g = await gatewayOver(cortex);
    try {
      let text = '';
      let done = false;
      for await (const part of await g.ollama.chat({ model: 'any', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
        text += part.message.content;
        done ||= part.done;
      }
      expect([text, done]).toEqual(['Bonjour', true]);
      const once = await g.ollama.chat({ model: 'any', messages: [{ role: 'user', content: 'hi' }], stream: false });
      expect(once).toMatchObject({ model: 'gpt-test', message: { role: 'assistant', content: 'Bonjour' }, done: true, done_reason: 'stop' });
      expect((await g.ollama.list()).models.map((m) => m.name)).toEqual(['gpt-test', 'cloud']);
    } finally {
      await g.close();
    }
  });

  it('sees an error, not a complete answer, when the stream breaks mid-answer', async () => {
    const midway = await ollama({ script: { chunks: ['half', ' of it'], resetAfter: 1 } });
    const { cortex } = await start([new OllamaWorker({ name: 'midway', baseUrl: midway.url })]);
    const g = await gatewayOver(cortex);
    try {
      let text = '';
      let done = false;
      const read = async (): Promise<void> => {
        for await (const part of await g.ollama.chat({ model: 'x', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
          text += part.message.content;
          done ||= part.done;
        }
      };
      await expect(read()).rejects.toThrow();
      expect([text, done]).toEqual(['half', false]);
    } finally {
      await g.close();
    }
  });
});
