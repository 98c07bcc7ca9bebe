#!/usr/bin/env node
/**
 * `cortex-otp serve --config cortex.json [--port 8080] [--host 127.0.0.1]`: the pool of a config
 * file behind the OpenAI- and Ollama-compatible gateway. Gateway keys come from the environment
 * (`CORTEX_GATEWAY_KEYS`, comma-separated), never from the command line.
 * @internal
 */
import { parseArgs } from 'node:util';
import { loadConfig, logEvents, startWorkers } from './index.js';
import { serveGateway } from './gateway.js';

const USAGE = 'usage: cortex-otp serve --config FILE [--port N] [--host ADDRESS] [--quiet]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'serve') fail(command === undefined ? 'a command is needed' : `unknown command "${command}"`);
  let values: { config?: string; port?: string; host?: string; quiet?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, quiet: { type: 'boolean' } } }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.config === undefined) fail('--config is needed');
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: expected a port number, got ${values.port}`);
  const keys = process.env.CORTEX_GATEWAY_KEYS?.split(',').map((k) => k.trim()).filter((k) => k !== '');
  let config;
  try {
    config = await loadConfig(values.config);
  } catch (e) {
    fail((e as Error).message);
  }
  const cortex = await startWorkers({ config });
  if (!values.quiet) logEvents(cortex.system, { write: (l) => process.stderr.write(`[cortex] ${l}\n`) });
  const gateway = await serveGateway(cortex, { port, host: values.host ?? '127.0.0.1', ...(keys && keys.length > 0 ? { keys } : {}) });
  process.stdout.write(`cortex gateway: ${gateway.url} (OpenAI base URL ${gateway.url}/v1, Ollama host ${gateway.url})\n`);
  const stop = (): void =>
    void gateway
      .close()
      .then(() => cortex.stop())
      .then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`cortex-otp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
