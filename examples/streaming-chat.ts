/**
 * An interactive chat that streams answers token by token through a supervised pool.
 *
 *   npm run chat                          # interactive
 *   npm run chat -- --prompt "Hello"      # answer once and exit
 *   npm run chat -- --config cortex.json  # workers from a config file
 *   npm run chat -- --fail-mid-answer     # the active worker breaks mid-answer: watch the failover
 *
 * With no LLM server around, the health check finds Ollama down and a built-in demo worker
 * answers (it says so). With Ollama running (OLLAMA_HOST or --ollama-url), Ollama answers.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  DEFAULT_CONFIG,
  DemoWorker,
  isCortexError,
  loadConfig,
  logEvents,
  parseConfig,
  startWorkers,
  type ChatMessage,
  type LlmWorker,
} from '../src/index.js';
import { withFaults } from '../src/testing.js';

const USAGE = 'usage: npm run chat -- [--prompt TEXT] [--config FILE] [--ollama-url URL] [--model NAME] [--fail-mid-answer] [--quiet]';

/** A mistake in the command line: the usage line and exit code 2, never a stack trace. */
function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function readArgs() {
  try {
    return parseArgs({
      options: {
        prompt: { type: 'string' },
        config: { type: 'string' },
        'ollama-url': { type: 'string' },
        model: { type: 'string' },
        'fail-mid-answer': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    return usageError((e as Error).message);
  }
}

const values = readArgs();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const dim = (s: string): string => (process.stderr.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
/** Event lines wait while an answer is being written, so they never land inside it. */
let held: string[] | null = null;
const log = (s: string): void => {
  if (values.quiet) return;
  const line = dim(`[cortex] ${s}`) + '\n';
  if (held !== null) held.push(line);
  else process.stderr.write(line);
};
const holdLog = (): void => {
  held = [];
};
const releaseLog = (): void => {
  const lines = held ?? [];
  held = null;
  for (const l of lines) process.stderr.write(l);
};

/** OLLAMA_HOST as Ollama reads it: a full URL, or `host[:port]` (http, port 11434 by default). */
function ollamaBaseUrl(host: string): string {
  const full = /^https?:\/\//.test(host);
  let u: URL;
  try {
    u = new URL(full ? host : `http://${host}`);
  } catch {
    return usageError(`--ollama-url: expected a URL or host[:port], got "${host}"`);
  }
  if (full) return host.replace(/\/+$/, '');
  if (u.port === '') u.port = '11434';
  return u.toString().replace(/\/$/, '');
}

async function main(): Promise<number> {
  const ollamaUrl = values['ollama-url'] ?? process.env.OLLAMA_HOST;
  const config = values.config
    ? await loadConfig(values.config)
    : parseConfig({
        workers: [
          {
            ...DEFAULT_CONFIG.workers[0],
            ...(ollamaUrl ? { baseUrl: ollamaBaseUrl(ollamaUrl) } : {}),
            ...(values.model ? { model: values.model } : {}),
          },
        ],
      });

  let workers: LlmWorker[] = [...config.workers];
  const names = new Set(workers.map((w) => w.info().name));
  if (!names.has('demo')) workers.push(new DemoWorker()); // the last resort, says it is a demo
  if (values['fail-mid-answer']) {
    // Every worker breaks mid-answer once; a flaky demo sits before the plain one so the switch shows even offline.
    workers = workers.map((w) => (w.info().kind === 'demo' ? w : withFaults(w, { failAfterChunks: 4, times: 1 })));
    workers.push(withFaults(new DemoWorker({ name: 'demo-flaky', priority: 900 }), { failAfterChunks: 6, times: 1 }));
  }

  const cortex = await startWorkers({
    workers,
    ...config.pool,
    continuation: values['fail-mid-answer'] ? { maxSwitches: 2 } : (config.pool.continuation ?? false),
  });
  const sub = logEvents(cortex.system, { write: log });
  try {
    const report = await cortex.dispatcher.checkHealth();
    for (const r of report) log(`health ${r.worker}: ${r.health.status}${r.health.status === 'available' ? '' : ` (${r.health.reason})`}`);

    const history: ChatMessage[] = [];
    const ask = async (prompt: string): Promise<boolean> => {
      history.push({ role: 'user', content: prompt });
      let answer = '';
      let worker: string | undefined;
      holdLog();
      try {
        for await (const chunk of cortex.dispatcher.dispatchStream(history)) {
          if (chunk.worker !== worker) {
            worker = chunk.worker;
            process.stdout.write(`${answer ? '\n' : ''}[${worker}] `);
          }
          answer += chunk.text;
          process.stdout.write(chunk.text);
        }
        process.stdout.write('\n');
        history.push({ role: 'assistant', content: answer });
        return true;
      } catch (e) {
        process.stdout.write('\n');
        history.pop();
        console.error(isCortexError(e) ? `error (${e.code}): ${e.message}` : `error: ${String(e)}`);
        return false;
      } finally {
        releaseLog();
      }
    };

    if (values.prompt !== undefined) return (await ask(values.prompt)) ? 0 : 1;

    const rl = createInterface({ input: process.stdin, terminal: false });
    console.log('cortex chat: type a message, /status for the pool, /quit to leave.');
    process.stdout.write('you> ');
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/quit' || line === '/exit') break;
      if (line === '/status') {
        for (const w of (await cortex.dispatcher.status()).workers) {
          console.log(`  ${w.name} (${w.kind}, priority ${w.priority}): ${w.health}, circuit ${w.circuit}, ${w.successes} ok / ${w.failures} failed`);
        }
      } else if (line !== '') {
        if (!process.stdin.isTTY) console.log(line); // echo piped input so the transcript reads naturally
        await ask(line);
      }
      process.stdout.write('you> ');
    }
    process.stdout.write('\n');
    rl.close();
    return 0;
  } finally {
    sub.dispose();
    await cortex.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // A bad config file or option is the user's to fix: no stack trace.
    console.error(isCortexError(e) ? e.message : e);
    process.exit(isCortexError(e) && (e.code === 'validation' || e.code === 'invalid_argument') ? 2 : 1);
  },
);
