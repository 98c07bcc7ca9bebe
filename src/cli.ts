#!/usr/bin/env node
/**
 * `cortex-otp serve --config cortex.json [--port 8080] [--host 127.0.0.1] [--drain-ms 5000]`: the
 * pool of a config file behind the OpenAI- and Ollama-compatible gateway. Gateway keys come from
 * the environment (`CORTEX_GATEWAY_KEYS`, comma-separated), never from the command line. On
 * SIGTERM or SIGINT it stops taking requests (`/readyz` 503), lets streams in flight finish for
 * the drain time, ends the rest with their API's error, and exits 0.
 * @internal
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { nodeTooOld } from './runtime/node-version.js';

const USAGE = `usage: cortex-otp serve --config FILE [--port N] [--host ADDRESS] [--drain-ms MS] [--quiet]
       cortex-otp --help | --version

  serve          the pool of a config file behind the OpenAI- and Ollama-compatible gateway
  --config FILE  the config file (JSON): workers, pool options, routes
  --port N       default 8080 (0: a free port)
  --host ADDRESS default 127.0.0.1
  --drain-ms MS  on SIGTERM/SIGINT, how long streams in flight may finish; default 5000, 0: at once
  --quiet        no event log on stderr

  SIGTERM/SIGINT drain and exit; SIGHUP reloads the config file's keys and workers (streams go on)

  CORTEX_GATEWAY_KEYS  comma-separated keys clients must send (Authorization: Bearer KEY), each
                       at least 8 characters; none: no key asked`;

/** From package.json (beside `src/` and `dist/` alike). */
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

type Flags = { config?: string; port?: string; host?: string; 'drain-ms'?: string; quiet?: boolean; help?: boolean; version?: boolean };

function parse(argv: string[]): Flags & { command: string | undefined } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'drain-ms': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
    return { ...(values as Flags), command: positionals[0] };
  } catch (e) {
    fail((e as Error).message);
  }
}

function whole(text: string | undefined, fallback: number, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) fail(`${flag}: expected a whole number from 0 to ${max}, got ${text}`);
  return n;
}

/** Keys from `CORTEX_GATEWAY_KEYS`, refused by name when one is too short (never shown). */
function envKeys(): string[] {
  const keys = process.env.CORTEX_GATEWAY_KEYS?.split(',').map((k) => k.trim()).filter((k) => k !== '') ?? [];
  if (keys.some((k) => k.length < 8)) fail('CORTEX_GATEWAY_KEYS: every key must be at least 8 characters (the keys are not shown)');
  return keys;
}

/** No key at all: none asked (the gateway binds 127.0.0.1 unless told). */
function withKeys<K>(keys: K[]): K[] | undefined {
  return keys.length > 0 ? keys : undefined;
}

async function main(argv: string[]): Promise<void> {
  const flags = parse(argv);
  if (flags.help) return void process.stdout.write(`${USAGE}\n`);
  if (flags.version) return void process.stdout.write(`cortex-otp ${VERSION}\n`);
  if (flags.command !== 'serve') fail(flags.command === undefined ? 'a command is needed' : `unknown command "${flags.command}"`);
  if (flags.config === undefined) fail('--config is needed');
  const port = whole(flags.port, 8080, '--port', 65535);
  const drainMs = whole(flags['drain-ms'], 5_000, '--drain-ms');
  const plain = envKeys();
  const { loadConfig, logEvents, startWorkers } = await import('./index.js');
  const { serveGateway } = await import('./gateway.js');
  const { keysFromConfig } = await import('./gateway/keys.js');
  let config;
  let keys: Array<string | import('./gateway.js').GatewayKey> = plain;
  try {
    config = await loadConfig(flags.config);
    keys = [...plain, ...keysFromConfig(config.gateway?.keys ?? [], process.env)];
  } catch (e) {
    fail((e as Error).message);
  }
  const cortex = await startWorkers({ config });
  if (!flags.quiet) logEvents(cortex.system, { write: (l) => process.stderr.write(`[cortex] ${l}\n`) });
  const gateway = await serveGateway(cortex, { port, host: flags.host ?? '127.0.0.1', drainMs, keys: withKeys(keys) });
  process.stdout.write(`cortex gateway: ${gateway.url} (OpenAI base URL ${gateway.url}/v1, Ollama host ${gateway.url})\n`);
  const stop = (signal: string): void => {
    if (!flags.quiet) process.stderr.write(`[cortex] ${signal}: draining for up to ${drainMs} ms\n`);
    void gateway
      .close()
      .then(() => cortex.stop({ drainMs: 0 }))
      .then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // SIGHUP: the config file again: its keys and workers, without dropping a stream.
  process.on('SIGHUP', () => void reload());
  const reload = async (): Promise<void> => {
    try {
      const next = await loadConfig(flags.config!);
      gateway.setKeys(withKeys([...envKeys(), ...keysFromConfig(next.gateway?.keys ?? [], process.env)]));
      const { added, removed } = await cortex.reload(next);
      if (!flags.quiet) process.stderr.write(`[cortex] SIGHUP: keys and workers reloaded (added ${added.length}, removed ${removed.length})\n`);
    } catch (e) {
      process.stderr.write(`[cortex] SIGHUP: not reloaded, the config is unchanged: ${(e as Error).message}\n`);
    }
  };
}

const old = nodeTooOld();
if (old !== undefined) {
  process.stderr.write(`${old}\n`);
  process.exit(1);
}
main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`cortex-otp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
