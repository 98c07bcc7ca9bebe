/**
 * Routing by a language model: a small, fast model of the pool reads each question and names the
 * kind of worker that should answer it (`code`, `translate` or `general`), through the same
 * `route` hook a rule-based router uses. The classifier's own request names its route
 * (`route: 'classifier'`), so it never goes through the router itself; when it fails or answers
 * something else, the request is simply not routed (any worker may answer).
 *
 *   npm run llm-router -- --prompt "write a function that reverses a string"
 *   npm run llm-router -- --ollama-url http://localhost:11434 --classifier llama3.2:1b --coder qwen2.5-coder:7b --general gemma3:4b
 *
 * Every worker is a model of one Ollama server (OLLAMA_HOST or --ollama-url); pull the models first.
 */
import { parseArgs } from 'node:util';
import { messageText, OllamaWorker, startWorkers, type ChatMessage, type Router, type Workers } from '../src/index.js';

const USAGE = 'usage: npm run llm-router -- --prompt TEXT [--ollama-url URL] [--classifier MODEL] [--coder MODEL] [--translator MODEL] [--general MODEL]';
const TAGS = ['code', 'translate', 'general'] as const;
const INSTRUCTION = `Classify the user's request. Answer with one word: ${TAGS.join(', ')}.`;

/**
 * A router that asks the pool's `classifier` worker which tag should answer: one word, at
 * temperature 0, within 5 s; anything else routes nowhere.
 */
export function llmRouter(pool: () => Workers | undefined): Router {
  return async (messages: readonly ChatMessage[]) => {
    const cortex = pool();
    const question = [...messages].reverse().find((m) => m.role === 'user');
    if (cortex === undefined || question === undefined) return undefined;
    const { text } = await cortex.dispatcher.complete(
      [
        { role: 'system', content: INSTRUCTION },
        { role: 'user', content: messageText(question) },
      ],
      { route: 'classifier', temperature: 0, maxTokens: 4, deadlineMs: 5_000, cache: false },
    );
    const word = text.trim().toLowerCase().replace(/[^a-z]/g, '');
    return (TAGS as readonly string[]).includes(word) ? word : undefined;
  };
}

function readArgs() {
  try {
    return parseArgs({
      options: {
        prompt: { type: 'string' },
        'ollama-url': { type: 'string' },
        classifier: { type: 'string', default: 'llama3.2:1b' },
        coder: { type: 'string', default: 'qwen2.5-coder:7b' },
        translator: { type: 'string', default: 'aya-expanse:8b' },
        general: { type: 'string', default: 'gemma3:4b' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return process.exit(2);
  }
}

async function main(): Promise<number> {
  const args = readArgs();
  if (args.help) {
    console.log(`${USAGE}\n\nNeeds an Ollama server (OLLAMA_HOST or --ollama-url) with the four models pulled: ollama pull MODEL.`);
    return 0;
  }
  if (args.prompt === undefined) {
    console.error(USAGE);
    return 2;
  }
  const baseUrl = args['ollama-url'] ?? process.env.OLLAMA_HOST ?? 'http://localhost:11434';
  const worker = (name: string, model: string, tag: string) => new OllamaWorker({ name, baseUrl, model, tags: [tag], priority: 10 });
  let cortex: Workers | undefined;
  cortex = await startWorkers({
    workers: [
      worker('classifier', args.classifier, 'classifier'),
      worker('coder', args.coder, 'code'),
      worker('translator', args.translator, 'translate'),
      worker('general', args.general, 'general'),
    ],
    route: llmRouter(() => cortex),
    healthIntervalMs: 0,
  });
  try {
    const missing = (await cortex.dispatcher.checkHealth()).filter((r) => r.health.status === 'unavailable');
    if (missing.length > 0) {
      console.error(`llm-router needs Ollama at ${baseUrl} with these models pulled; not available now:`);
      for (const r of missing) console.error(`  - ${r.worker}: ${r.health.status === 'unavailable' ? r.health.reason : ''}`);
      console.error('Start Ollama (or pass --ollama-url), then: ollama pull MODEL for each (models: --classifier, --coder, --translator, --general).');
      return 1;
    }
    let route: string | undefined;
    const sub = cortex.system.inspect((e) => {
      if (e.type === 'pool.dispatch' && e.worker !== 'classifier') route ??= e.worker;
    });
    let answer = '';
    for await (const chunk of cortex.dispatcher.dispatchStream([{ role: 'user', content: args.prompt }])) answer += chunk.text;
    sub.dispose();
    console.log(`[${route ?? '?'}] ${answer}`);
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    await cortex.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
