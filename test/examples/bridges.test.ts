/**
 * examples/ai-sdk.ts and examples/langchain.ts as a user runs them, against a fake Ollama:
 * the AI SDK's `streamText` and a LangChain chain, both over the pool.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useServers } from '../support/servers.js';

const run = promisify(execFile);
const { ollama } = useServers();

describe('the bridges, as examples', () => {
  it('examples/ai-sdk.ts --prompt: streamText over the pool; the failing first worker is invisible', async () => {
    const server = await ollama({ script: { chunks: ['Hello', ' from Ollama'] } });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/ai-sdk.ts', '--prompt', 'hi', '--ollama-url', server.url], { timeout: 30_000 });
    expect(stdout).toBe('Hello from Ollama\n[answered by ollama-local]\n');
  });

  it('examples/langchain.ts --prompt: a prompt template piped into ChatCortex, streamed', async () => {
    const server = await ollama({ script: { chunks: ['Bon', 'jour'] } });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/langchain.ts', '--prompt', 'Hello', '--language', 'French', '--ollama-url', server.url], { timeout: 30_000 });
    expect(stdout).toBe('Bonjour\n');
    expect(server.requests[0]!.messages).toEqual([
      { role: 'system', content: 'Translate the text into French. Answer with the translation only.' },
      { role: 'user', content: 'Hello' },
    ]);
  });
});
