import type { z } from 'zod';
import { lazy, lazySchema } from '../lazy-zod.js';
import { ValidationError } from '../errors/pool.js';
import type { ChatMessage, GenerationOptions } from './types.js';
import type { WorkerLimits } from '../pool/admission.js';

/** The fields of `WorkerLimits` in worker options and config entries (all optional). @internal */
export const limitsShape = lazy((z) => {
  const limit = z.number().int().positive();
  return { maxConcurrent: limit.optional(), rpm: limit.optional(), tpm: limit.optional() };
});

/** The routing tags of worker options and config entries: `tags: ['code', 'fast']`. @internal */
export const tagsShape = lazy((z) => ({ tags: z.array(z.string().trim().min(1, 'expected a non-empty tag')).optional() }));

/** The limits among parsed options, for `LlmWorker.limits()`. @internal */
export function pickLimits(o: { maxConcurrent?: number | undefined; rpm?: number | undefined; tpm?: number | undefined }): WorkerLimits {
  return {
    ...(o.maxConcurrent !== undefined ? { maxConcurrent: o.maxConcurrent } : {}),
    ...(o.rpm !== undefined ? { rpm: o.rpm } : {}),
    ...(o.tpm !== undefined ? { tpm: o.tpm } : {}),
  };
}

/** An image URL: `data:image/...;base64,...` or http(s). */
const IMAGE_URL = /^(data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+|https?:\/\/\S+)$/;

const chatMessage = lazy((z) => {
  const part = z.discriminatedUnion('type', [
    z.object({ type: z.literal('text'), text: z.string() }).strict(),
    z.object({ type: z.literal('image'), url: z.string().regex(IMAGE_URL, 'expected a data:image/...;base64 URL or an http(s) URL') }).strict(),
  ]);
  const toolCall = z.object({ id: z.string().min(1), name: z.string().min(1), arguments: z.string() }).strict();
  return z
    .object({
      role: z.enum(['system', 'user', 'assistant', 'tool']),
      content: z.union([z.string(), z.array(part)]),
      toolCalls: z.array(toolCall).optional(),
      toolCallId: z.string().min(1).optional(),
      name: z.string().min(1).optional(),
    })
    .superRefine((m, ctx) => {
      if (m.toolCalls !== undefined && m.role !== 'assistant') ctx.addIssue({ code: 'custom', path: ['toolCalls'], message: 'only assistant messages carry tool calls' });
      if (m.toolCallId !== undefined && m.role !== 'tool') ctx.addIssue({ code: 'custom', path: ['toolCallId'], message: 'only tool messages answer a tool call' });
    });
});
const messagesLazy = lazy((z) => z.array(chatMessage()).min(1, 'at least one message is required'));

/** zod schema of a {@link ChatMessage} (zod is loaded when it is first used). */
export const chatMessageSchema = lazySchema(chatMessage);

/** zod schema of a conversation: at least one message (zod is loaded when it is first used). */
export const messagesSchema = lazySchema(messagesLazy);

/**
 * Checks a conversation at the public boundary.
 * @throws ValidationError naming each bad field, e.g. `messages[1].role`.
 */
export function validateMessages(messages: unknown): readonly ChatMessage[] {
  // Fast path for the common, valid case; zod (the source of truth) reports what is wrong.
  if (isConversation(messages)) return messages;
  return parseWith(messagesLazy, messages, 'messages') as readonly ChatMessage[];
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/** Plain text messages only (anything richer is checked by zod). */
function isConversation(m: unknown): m is readonly ChatMessage[] {
  if (!Array.isArray(m) || m.length === 0) return false;
  for (const x of m) {
    if (typeof x !== 'object' || x === null) return false;
    const o = x as ChatMessage;
    if (!ROLES.has(o.role) || typeof o.content !== 'string' || o.toolCalls !== undefined || o.toolCallId !== undefined || o.name !== undefined) return false;
  }
  return true;
}

/** The fields of {@link GenerationOptions} in request options. @internal */
export const generationShape = lazy((z) => {
  const tool = z
    .object({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, _ or - (1 to 64)'),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
    })
    .strict();
  return {
    tools: z.array(tool).optional(),
    toolChoice: z.union([z.enum(['auto', 'none', 'required']), z.object({ name: z.string().min(1) }).strict()]).optional(),
    responseFormat: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('text') }).strict(),
        z.object({ type: z.literal('json') }).strict(),
        z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()), name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(), strict: z.boolean().optional() }).strict(),
      ])
      .optional(),
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().gt(0).max(1).optional(),
    maxTokens: z.number().int().positive().optional(),
    stop: z.array(z.string().min(1)).optional(),
    seed: z.number().int().optional(),
  };
});

/** A `toolChoice` naming a tool must name one of `tools`. @internal */
export function checkToolChoice(o: GenerationOptions, ctx: { addIssue(i: { code: 'custom'; path: string[]; message: string }): void }): void {
  const c = o.toolChoice;
  if (typeof c === 'object' && !(o.tools ?? []).some((t) => t.name === c.name)) {
    ctx.addIssue({ code: 'custom', path: ['toolChoice', 'name'], message: `names no tool of \`tools\` ("${c.name}")` });
  }
  if ((c === 'required' || typeof c === 'object') && (o.tools ?? []).length === 0) {
    ctx.addIssue({ code: 'custom', path: ['toolChoice'], message: 'asks for a tool call, but `tools` is empty' });
  }
}

/** The generation options of `o`, only those set (undefined when none is). @internal */
export function pickGeneration(o: GenerationOptions): GenerationOptions | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k of GENERATION_KEYS) {
    const v = o[k];
    if (v !== undefined) (out ??= {})[k] = v;
  }
  return out as GenerationOptions | undefined;
}

const GENERATION_KEYS = ['tools', 'toolChoice', 'responseFormat', 'temperature', 'topP', 'maxTokens', 'stop', 'seed'] as const satisfies ReadonlyArray<keyof GenerationOptions>;

/** What a request needs of a worker beyond text. @internal */
export type Capability = 'tools' | 'images' | 'jsonSchema';

/** The capabilities a request needs: tools (tools offered, or tool calls in the conversation), images, a JSON schema. @internal */
export function capabilitiesNeeded(messages: readonly ChatMessage[], o: GenerationOptions): Capability[] {
  const out: Capability[] = [];
  let tools = (o.tools?.length ?? 0) > 0 && o.toolChoice !== 'none';
  let images = false;
  for (const m of messages) {
    if (m.toolCalls !== undefined || m.toolCallId !== undefined) tools = true;
    if (typeof m.content !== 'string' && m.content.some((p) => p.type === 'image')) images = true;
  }
  if (tools) out.push('tools');
  if (images) out.push('images');
  if (o.responseFormat?.type === 'json_schema') out.push('jsonSchema');
  return out;
}

/** `capabilities` of worker options and config entries. @internal */
export const capabilitiesShape = lazy((z) => ({
  capabilities: z
    .object({ tools: z.boolean().optional(), images: z.boolean().optional(), jsonSchema: z.boolean().optional(), contextLength: z.number().int().positive().optional() })
    .strict()
    .optional(),
  // What its tokens cost (beside what it can take: both describe the worker to the pool).
  price: z
    .object({ inputPerMTok: z.number().finite().nonnegative(), outputPerMTok: z.number().finite().nonnegative(), cachedInputPerMTok: z.number().finite().nonnegative().optional() })
    .strict()
    .optional(),
}));

/** Parses `value` with `schema`, turning zod issues into one {@link ValidationError}. @internal */
export function parseWith<T>(schema: z.ZodType<T> | (() => z.ZodType<T>), value: unknown, root: string, source?: string): T {
  const r = (typeof schema === 'function' ? schema() : schema).safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(
    r.error.issues.map((i) => ({ path: formatPath(root, i.path), message: i.message })),
    source,
  );
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}
