import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { LlmWorker } from '../behaviour/types.js';
import { parseWith } from '../behaviour/validate.js';
import { ValidationError } from '../errors/pool.js';
import { DemoWorker } from '../adapters/demo.js';
import { httpUrl, OllamaWorker } from '../adapters/ollama.js';
import type { PoolOptions } from '../pool/options.js';

const name = z.string().trim().min(1, 'expected a non-empty name');
const ms = z.number().finite().positive('expected a number of ms > 0');

const ollamaSchema = z
  .object({
    kind: z.literal('ollama'),
    name: name.default('ollama-local'),
    baseUrl: httpUrl.default('http://localhost:11434'),
    model: z.string().trim().min(1).default('gemma3:4b'),
    priority: z.number().finite().default(10),
    timeoutMs: ms.default(60_000),
  })
  .strict();

const demoSchema = z
  .object({
    kind: z.literal('demo'),
    name: name.default('demo'),
    priority: z.number().finite().default(1000),
  })
  .strict();

const workerSchema = z.discriminatedUnion('kind', [ollamaSchema, demoSchema]);

const poolSchema = z
  .object({
    strategy: z.enum(['local_first', 'round_robin', 'least_loaded']).optional(),
    healthIntervalMs: z.number().finite().nonnegative().optional(),
    healthTimeoutMs: ms.optional(),
    firstChunkTimeoutMs: ms.optional(),
    idleTimeoutMs: ms.optional(),
    deadlineMs: ms.optional(),
    failureThreshold: z.number().int().positive().optional(),
    circuitResetMs: ms.optional(),
    continuation: z.union([z.literal(false), z.object({ maxSwitches: z.number().int().positive().optional() }).strict()]).optional(),
  })
  .strict();

const configSchema = z
  .object({
    workers: z.array(workerSchema).min(1, 'expected at least one worker'),
    pool: poolSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.workers.forEach((w, i) => {
      if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: ['workers', i, 'name'], message: `duplicate worker name "${w.name}"` });
      seen.add(w.name);
    });
  });

/** One worker in a config file (`kind` picks the adapter). */
export type WorkerConfig = z.input<typeof workerSchema>;
/** A config file's contents. */
export type CortexConfig = z.input<typeof configSchema>;

/** A validated config: the workers to start and the pool's options. */
export interface LoadedConfig {
  readonly workers: LlmWorker[];
  readonly pool: PoolOptions;
  /** The validated worker entries, by name (to tell what changed on reload). */
  readonly entries: ReadonlyMap<string, string>;
}

/** The seed's default when there is no config file: one `ollama-local` worker. */
export const DEFAULT_CONFIG: CortexConfig = { workers: [{ kind: 'ollama' }] };

/**
 * Validates a config object and builds its workers.
 * @throws ValidationError with one line per problem: the source, the field path and what was expected.
 */
export function parseConfig(value: unknown, source = 'config'): LoadedConfig {
  const c = parseWith(configSchema, value, 'config', source);
  return {
    workers: c.workers.map(buildWorker),
    pool: (c.pool ?? {}) as PoolOptions,
    entries: new Map(c.workers.map((w) => [w.name, JSON.stringify(w)])),
  };
}

/**
 * Reads and validates a JSON config file.
 * @throws ValidationError naming the file (unreadable, not JSON, or invalid fields).
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ValidationError([{ path: 'file', message: `cannot read: ${(e as Error).message}` }], path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ValidationError([{ path: 'file', message: `not valid JSON: ${(e as Error).message}` }], path);
  }
  return parseConfig(value, path);
}

function buildWorker(w: z.output<typeof workerSchema>): LlmWorker {
  switch (w.kind) {
    case 'ollama':
      return new OllamaWorker({ name: w.name, baseUrl: w.baseUrl, model: w.model, priority: w.priority, timeoutMs: w.timeoutMs });
    case 'demo':
      return new DemoWorker({ name: w.name, priority: w.priority });
  }
}
