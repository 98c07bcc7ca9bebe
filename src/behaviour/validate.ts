import type { z } from 'zod';
import { lazy, lazySchema } from '../lazy-zod.js';
import { ValidationError } from '../errors/pool.js';
import type { ChatMessage } from './types.js';
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

const chatMessage = lazy((z) =>
  z.object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string(),
  }),
);
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
  return parseWith(messagesLazy, messages, 'messages');
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

function isConversation(m: unknown): m is readonly ChatMessage[] {
  if (!Array.isArray(m) || m.length === 0) return false;
  for (const x of m) {
    if (typeof x !== 'object' || x === null || !ROLES.has((x as ChatMessage).role) || typeof (x as ChatMessage).content !== 'string') return false;
  }
  return true;
}

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
