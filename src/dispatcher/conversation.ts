import type { ChatMessage } from '../behaviour/types.js';
import type { Capability } from '../behaviour/validate.js';
import { DEFAULT_CONTINUATION_PROMPT, type RequestPolicy } from './policy.js';

/* What a request reads off its conversation: its size for the token estimate, whether it is plain text, and the conversation that continues a broken answer. */

/** The conversation sent to the next worker to continue a broken answer. @internal */
export function continuationMessages(messages: readonly ChatMessage[], partial: string, cont: RequestPolicy['continuation']): ChatMessage[] {
  const prompt = cont === false ? DEFAULT_CONTINUATION_PROMPT : cont.prompt;
  return [...messages, { role: 'assistant', content: partial }, { role: 'user', content: prompt }];
}

/** What a plain-text request needs beyond text: nothing. @internal */
export const NO_NEEDS: readonly Capability[] = Object.freeze([]);
/** Tokens an image is counted as, for `tpm` and context checks (a rough figure: 85 to 1,500 by size). */
const IMAGE_TOKENS = 765;

/** Plain text messages only (no parts, no tool calls). @internal */
export function plainText(messages: readonly ChatMessage[]): boolean {
  for (const m of messages) if (typeof m.content !== 'string' || m.toolCalls !== undefined || m.toolCallId !== undefined) return false;
  return true;
}

/** Characters of a conversation, for the token estimate: its text, tool calls' arguments, and images as {@link IMAGE_TOKENS}. @internal */
export function conversationChars(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const m of messages) {
    if (typeof m.content === 'string') chars += m.content.length;
    else for (const p of m.content) chars += p.type === 'text' ? p.text.length : IMAGE_TOKENS * 4;
    if (m.toolCalls !== undefined) for (const c of m.toolCalls) chars += c.name.length + c.arguments.length;
  }
  return chars;
}
