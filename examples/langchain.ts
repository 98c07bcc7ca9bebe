/**
 * LangChain over a cortex pool: a prompt template piped into `ChatCortex`, streamed token by
 * token through LangChain's own runnables.
 *
 *   npm run langchain -- --prompt "Hello"                  # translates it into French
 *   npm run langchain -- --prompt "Hello" --language German
 *   npm run langchain -- --prompt "Hello" --ollama-url URL  # Ollama first (the demo worker answers when it cannot)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { DemoWorker, OllamaWorker, startWorkers } from '../src/index.js';
import { ChatCortex } from '../src/langchain.js';

const USAGE = 'usage: npm run langchain -- --prompt TEXT [--language NAME] [--ollama-url URL]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { prompt: { type: 'string' }, language: { type: 'string', default: 'French' }, 'ollama-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.prompt === undefined) {
    console.error(`--prompt is needed\n${USAGE}`);
    return 2;
  }
  const ollamaUrl = values['ollama-url'] ?? (process.env.OLLAMA_HOST || undefined);
  const workers = await startWorkers({ workers: [new OllamaWorker({ ...(ollamaUrl !== undefined ? { baseUrl: ollamaUrl } : {}) }), new DemoWorker()], healthIntervalMs: 0 });
  try {
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'Translate the text into {language}. Answer with the translation only.'],
      ['human', '{text}'],
    ]);
    const chain = prompt.pipe(new ChatCortex({ dispatcher: workers.dispatcher })).pipe(new StringOutputParser());
    for await (const token of await chain.stream({ language: values.language, text: values.prompt })) process.stdout.write(token);
    process.stdout.write('\n');
    return 0;
  } finally {
    await workers.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
