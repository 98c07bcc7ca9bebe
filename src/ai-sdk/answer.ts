import type { LanguageModelV4Content, LanguageModelV4FinishReason, LanguageModelV4StreamPart, LanguageModelV4Usage, SharedV4ProviderMetadata, SharedV4Warning } from '@ai-sdk/provider';
import type { FinishReason, ToolCallDelta, Usage } from '../behaviour/types.js';
import type { StreamChunk } from '../dispatcher/options.js';

/** What a cortex answer said, besides its parts: the workers that answered, whether it was replayed. @internal */
export interface AnswerMeta {
  readonly workers: string[];
  cached: boolean;
}

/** A tool call being streamed: its id and name (from its first piece), and its arguments so far. */
interface OpenCall {
  readonly id: string;
  readonly name: string;
  args: string;
}

/**
 * Turns cortex's chunks into the AI SDK's stream parts: text and reasoning blocks, tool calls as
 * input deltas then whole calls, and a finish with the reason, usage and the workers that
 * answered (`providerMetadata.cortex`). @internal
 */
export class PartWriter {
  readonly meta: AnswerMeta = { workers: [], cached: false };
  #text = false;
  #reasoning = false;
  readonly #calls = new Map<number, OpenCall>();
  #finish: FinishReason | undefined;
  #usage: Usage | undefined;
  #metadataSent = false;

  constructor(private readonly emit: (part: LanguageModelV4StreamPart) => void) {}

  /** One chunk of the answer. */
  chunk(c: StreamChunk): void {
    if (this.meta.workers.at(-1) !== c.worker) this.meta.workers.push(c.worker);
    if (c.cached === true) this.meta.cached = true;
    if (!this.#metadataSent) {
      this.#metadataSent = true;
      this.emit({ type: 'response-metadata', modelId: c.worker, timestamp: new Date() });
    }
    if (c.reasoning !== undefined && c.reasoning !== '') this.#reason(c.reasoning);
    if (c.text !== '') this.#say(c.text);
    for (const d of c.toolCalls ?? []) this.#toolPiece(d);
    if (c.finishReason !== undefined) this.#finish = c.finishReason;
    if (c.usage !== undefined) this.#usage = c.usage;
  }

  #say(text: string): void {
    if (!this.#text) {
      this.#text = true;
      this.emit({ type: 'text-start', id: TEXT_ID });
    }
    this.emit({ type: 'text-delta', id: TEXT_ID, delta: text });
  }

  #reason(text: string): void {
    if (!this.#reasoning) {
      this.#reasoning = true;
      this.emit({ type: 'reasoning-start', id: REASONING_ID });
    }
    this.emit({ type: 'reasoning-delta', id: REASONING_ID, delta: text });
  }

  #toolPiece(d: ToolCallDelta): void {
    let call = this.#calls.get(d.index);
    if (call === undefined) {
      call = { id: d.id ?? `call_${d.index}`, name: d.name ?? '', args: '' };
      this.#calls.set(d.index, call);
      this.emit({ type: 'tool-input-start', id: call.id, toolName: call.name });
    }
    if (d.arguments !== undefined && d.arguments !== '') {
      call.args += d.arguments;
      this.emit({ type: 'tool-input-delta', id: call.id, delta: d.arguments });
    }
  }

  /** The answer is complete: every open block is closed, each tool call sent whole, then the finish. */
  end(): void {
    this.#close();
    for (const call of this.#calls.values()) this.emit({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: call.args === '' ? '{}' : call.args });
    this.emit({ type: 'finish', finishReason: finishReason(this.#finish), usage: usageOf(this.#usage), providerMetadata: this.#metadata() });
  }

  /** The answer broke (after some of it was sent): an error part, and a finish that says `error`, never `stop`. */
  broke(error: unknown): void {
    this.#close();
    this.emit({ type: 'error', error });
    this.emit({ type: 'finish', finishReason: { unified: 'error', raw: undefined }, usage: usageOf(this.#usage), providerMetadata: this.#metadata() });
  }

  #close(): void {
    if (this.#text) this.emit({ type: 'text-end', id: TEXT_ID });
    if (this.#reasoning) this.emit({ type: 'reasoning-end', id: REASONING_ID });
    for (const call of this.#calls.values()) this.emit({ type: 'tool-input-end', id: call.id });
    this.#text = this.#reasoning = false;
  }

  #metadata(): SharedV4ProviderMetadata {
    return { cortex: { workers: this.meta.workers, cached: this.meta.cached } };
  }
}

const TEXT_ID = 'text-0';
const REASONING_ID = 'reasoning-0';

/** The parts of a whole answer, for `doGenerate`. @internal */
export function contentOf(parts: readonly LanguageModelV4StreamPart[]): { content: LanguageModelV4Content[]; finishReason: LanguageModelV4FinishReason; usage: LanguageModelV4Usage; providerMetadata?: SharedV4ProviderMetadata } {
  let text = '';
  let reasoning = '';
  const calls: LanguageModelV4Content[] = [];
  let finish: Extract<LanguageModelV4StreamPart, { type: 'finish' }> | undefined;
  for (const p of parts) {
    if (p.type === 'text-delta') text += p.delta;
    else if (p.type === 'reasoning-delta') reasoning += p.delta;
    else if (p.type === 'tool-call') calls.push(p);
    else if (p.type === 'finish') finish = p;
  }
  const content: LanguageModelV4Content[] = [];
  if (reasoning !== '') content.push({ type: 'reasoning', text: reasoning });
  if (text !== '') content.push({ type: 'text', text });
  content.push(...calls);
  return { content, finishReason: finish!.finishReason, usage: finish!.usage, ...(finish?.providerMetadata !== undefined ? { providerMetadata: finish.providerMetadata } : {}) };
}

function finishReason(r: FinishReason | undefined): LanguageModelV4FinishReason {
  switch (r) {
    case 'stop':
      return { unified: 'stop', raw: r };
    case 'length':
      return { unified: 'length', raw: r };
    case 'tool_calls':
      return { unified: 'tool-calls', raw: r };
    case 'content_filter':
      return { unified: 'content-filter', raw: r };
    case undefined:
      return { unified: 'stop', raw: undefined };
    default:
      return { unified: 'other', raw: r };
  }
}

function usageOf(u: Usage | undefined): LanguageModelV4Usage {
  return {
    inputTokens: { total: u?.promptTokens, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: u?.completionTokens, text: undefined, reasoning: undefined },
  };
}

/** The warnings part that opens every stream. @internal */
export function streamStart(warnings: SharedV4Warning[]): LanguageModelV4StreamPart {
  return { type: 'stream-start', warnings };
}
