import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { lazy } from '../lazy-zod.js';
import type { LlmWorker } from '../behaviour/types.js';
import { ValidationError } from '../errors/pool.js';
import { DemoWorker } from '../adapters/demo.js';
import { httpUrl, OllamaWorker } from '../adapters/ollama.js';
import { OPENAI_PRESETS, OpenAIWorker, type OpenAIPreset } from '../adapters/openai.js';
import { AnthropicWorker } from '../adapters/anthropic.js';
import { poolOptionsSchema, type PoolOptions } from '../pool/options.js';
import { capabilitiesShape, limitsShape, parseWith, pickLimits, tagsShape } from '../behaviour/validate.js';
import type { StoreSpec } from '../store/spec.js';
import { rulesRouter, type RouteRule } from '../dispatcher/routing.js';

/** The config file's schema, built on first use (with zod). */
const schemas = lazy((z) => {
  const name = z.string().trim().min(1, 'expected a non-empty name');
  const ms = z.number().finite().positive('expected a number of ms > 0');
  const keyEnv = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the NAME of an environment variable holding the key (never the key itself)');
  const ollama = z
    .object({
      kind: z.literal('ollama'),
      name: name.default('ollama-local'),
      baseUrl: httpUrl().default('http://localhost:11434'),
      model: z.string().trim().min(1).default('gemma3:4b'),
      priority: z.number().finite().default(10),
      timeoutMs: ms.default(60_000),
      ...limitsShape(),
      ...tagsShape(),
      ...capabilitiesShape(),
    })
    .strict();
  const demo = z
    .object({
      kind: z.literal('demo'),
      name: name.default('demo'),
      priority: z.number().finite().default(1000),
    })
    .strict();
  const openai = z
    .object({
      kind: z.literal('openai'),
      name: name.optional(),
      preset: z.enum(Object.keys(OPENAI_PRESETS) as [OpenAIPreset, ...OpenAIPreset[]]).optional(),
      baseUrl: httpUrl().optional(),
      model: z.string().trim().min(1),
      apiKeyEnv: keyEnv.optional(),
      priority: z.number().finite().optional(),
      timeoutMs: ms.optional(),
      ...limitsShape(),
      ...tagsShape(),
      ...capabilitiesShape(),
    })
    .strict()
    .refine((w) => w.preset !== undefined || w.baseUrl !== undefined, { message: 'expected a preset or a baseUrl', path: ['baseUrl'] });
  const anthropic = z
    .object({
      kind: z.literal('anthropic'),
      name: name.default('anthropic'),
      baseUrl: httpUrl().optional(),
      model: z.string().trim().min(1),
      apiKeyEnv: keyEnv.optional(),
      priority: z.number().finite().optional(),
      maxTokens: z.number().int().positive().optional(),
      timeoutMs: ms.optional(),
      ...limitsShape(),
      ...tagsShape(),
      ...capabilitiesShape(),
    })
    .strict();
  const worker = z.discriminatedUnion('kind', [ollama, openai, anthropic, demo]);
  // The pool's one options schema; in a file, a strategy is one of the built-in names.
  const pool = poolOptionsSchema().extend({ strategy: z.enum(['local_first', 'round_robin', 'least_loaded', 'fastest']).optional() });
  const store = z.union([
    z.literal('memory'),
    z
      .object({
        kind: z.literal('redis'),
        url: z.string().regex(/^rediss?:\/\/[^/]/, 'expected a redis:// or rediss:// URL (or leave it out and set CORTEX_REDIS_URL)').optional(),
        prefix: z.string().regex(/^[\w.-]{1,64}$/, 'expected letters, digits, _ . - (1 to 64)').optional(),
        leaseMs: z.number().int().min(30).optional(),
        timeoutMs: z.number().int().positive().optional(),
        required: z.boolean().optional(),
      })
      .strict(),
  ]);
  const limit = z.number().int().positive().optional();
  const key = z
    .object({
      id: z.string().trim().min(1),
      keyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
      sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected the SHA-256 of the key as 64 hex digits').optional(),
      routes: z.array(z.string().trim().min(1)).optional(),
      maxConcurrent: limit,
      rpm: limit,
      tpm: limit,
      admin: z.boolean().optional(),
      budget: z.union([z.object({ tokens: z.number().int().positive(), per: z.enum(['day', 'month']) }).strict(), z.object({ usd: z.number().finite().positive(), per: z.enum(['day', 'month']) }).strict()]).optional(),
    })
    .strict()
    .refine((k) => (k.keyEnv === undefined) !== (k.sha256 === undefined), 'expected keyEnv (the variable that holds the key) or sha256, one of them');
  const gateway = z.object({ keys: z.array(key).min(1).optional() }).strict();
  const config = z
    .object({
      workers: z.array(worker).min(1, 'expected at least one worker'),
      pool: pool.optional(),
      store: store.optional(),
      gateway: gateway.optional(),
      routes: z
        .array(
          z
            .object({
              tag: z.string().trim().min(1),
              keywords: z.array(z.string().min(1)).optional(),
              pattern: z.string().min(1).optional(),
              maxChars: z.number().int().nonnegative().optional(),
              minChars: z.number().int().nonnegative().optional(),
            })
            .strict(),
        )
        .optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
      const seen = new Set<string>();
      c.workers.forEach((w, i) => {
        const n = workerName(w);
        if (seen.has(n)) ctx.addIssue({ code: 'custom', path: ['workers', i, 'name'], message: `duplicate worker name "${n}"` });
        seen.add(n);
      });
    });
  return { worker, config };
});
type Schemas = ReturnType<typeof schemas>;

/** One worker in a config file (`kind` picks the adapter). */
export type WorkerConfig = z.input<Schemas['worker']>;
/** A config file's contents. */
export type CortexConfig = z.input<Schemas['config']>;

/** A validated config: the workers to start and the pool's options. */
export interface LoadedConfig {
  readonly workers: LlmWorker[];
  readonly pool: PoolOptions;
  /** Where shared state is kept (`'memory'` when the file says nothing). */
  readonly store: StoreSpec;
  /** Routing rules (a `rulesRouter` is made of them), when the file has some. */
  readonly routes?: readonly RouteRule[];
  /** The validated worker entries, by name (to tell what changed on reload). */
  readonly entries: ReadonlyMap<string, string>;
  /** The gateway's keys (`cortex-otp serve`), when the file has some. */
  readonly gateway?: { readonly keys?: readonly GatewayKeyConfig[] };
}

/**
 * A gateway key in a config file: its `id`, and the key from the environment (`keyEnv`, the
 * variable's name) or as its SHA-256 (`sha256`, 64 hex digits): never the key itself. With the
 * routes it may use and its limits (see the gateway's `GatewayKey`).
 */
export interface GatewayKeyConfig {
  readonly id: string;
  readonly keyEnv?: string;
  readonly sha256?: string;
  readonly routes?: readonly string[];
  readonly maxConcurrent?: number;
  readonly rpm?: number;
  readonly tpm?: number;
  readonly admin?: boolean;
  readonly budget?: { readonly tokens: number; readonly per: 'day' | 'month' } | { readonly usd: number; readonly per: 'day' | 'month' };
}

/** The seed's default when there is no config file: one `ollama-local` worker. */
export const DEFAULT_CONFIG: CortexConfig = { workers: [{ kind: 'ollama' }] };

/**
 * Validates a config object and builds its workers.
 * @throws ValidationError with one line per problem: the source, the field path and what was expected.
 */
export function parseConfig(value: unknown, source = 'config'): LoadedConfig {
  const c = parseWith(schemas().config, value, 'config', source);
  if (c.routes !== undefined) {
    try {
      rulesRouter(c.routes as RouteRule[]);
    } catch (e) {
      const a = e as { field?: string; expected?: string };
      throw new ValidationError([{ path: a.field ?? 'routes', message: `expected ${a.expected ?? 'a valid rule'}` }], source);
    }
  }
  return {
    workers: c.workers.map(buildWorker),
    pool: (c.pool ?? {}) as PoolOptions,
    store: (c.store ?? 'memory') as StoreSpec,
    ...(c.routes !== undefined ? { routes: c.routes as RouteRule[] } : {}),
    ...(c.gateway !== undefined ? { gateway: c.gateway as LoadedConfig['gateway'] & object } : {}),
    entries: new Map(c.workers.map((w) => [workerName(w), JSON.stringify(w)])),
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

function workerName(w: z.output<Schemas['worker']>): string {
  return w.kind === 'openai' ? (w.name ?? w.preset ?? 'openai-compatible') : w.name;
}

function buildWorker(w: z.output<Schemas['worker']>): LlmWorker {
  switch (w.kind) {
    case 'openai':
      return new OpenAIWorker({
        model: w.model,
        ...(w.name !== undefined ? { name: w.name } : {}),
        ...(w.preset !== undefined ? { preset: w.preset } : {}),
        ...(w.baseUrl !== undefined ? { baseUrl: w.baseUrl } : {}),
        ...(w.apiKeyEnv !== undefined ? { apiKeyEnv: w.apiKeyEnv } : {}),
        ...(w.priority !== undefined ? { priority: w.priority } : {}),
        ...(w.timeoutMs !== undefined ? { timeoutMs: w.timeoutMs } : {}),
        ...pickLimits(w),
        ...(w.tags !== undefined ? { tags: w.tags } : {}),
        ...(w.capabilities !== undefined ? { capabilities: w.capabilities } : {}),
        ...(w.price !== undefined ? { price: w.price } : {}),
      });
    case 'ollama':
      return new OllamaWorker({ name: w.name, baseUrl: w.baseUrl, model: w.model, priority: w.priority, timeoutMs: w.timeoutMs, ...pickLimits(w), ...(w.tags !== undefined ? { tags: w.tags } : {}), ...(w.capabilities !== undefined ? { capabilities: w.capabilities } : {}), ...(w.price !== undefined ? { price: w.price } : {}) });
    case 'anthropic': {
      const { kind: _kind, ...options } = w;
      return new AnthropicWorker(options);
    }
    case 'demo':
      return new DemoWorker({ name: w.name, priority: w.priority });
  }
}
