import type { LanguageModelV4CallOptions, LanguageModelV4Message, LanguageModelV4ToolResultOutput, SharedV4Warning } from '@ai-sdk/provider';
import type { ChatMessage, ContentPart, GenerationOptions, ToolCall, ToolChoice, ToolDefinition } from '../behaviour/types.js';
import type { DispatchOptions } from '../dispatcher/options.js';
import type { Mutable } from '../mutable.js';

/** What the AI SDK asked, as cortex's request: the conversation, its options, and the settings cortex cannot carry. @internal */
export interface Translated {
  readonly messages: ChatMessage[];
  readonly options: DispatchOptions;
  readonly warnings: SharedV4Warning[];
}

/** A part of the prompt cortex cannot carry (a file that is not an image, a reference). @internal */
export class UnsupportedPart extends Error {
  constructor(readonly functionality: string) {
    super(functionality);
  }
}

/**
 * Options under `providerOptions.cortex` (in `streamText({ providerOptions: { cortex: { ... } } })`):
 * cortex's own per-request options.
 */
export interface CortexProviderOptions {
  /** Only workers carrying this tag or name (see `DispatchOptions.route`). */
  readonly route?: string;
  /** Place in the pool's queue, higher first. */
  readonly priority?: number;
  /** Never hedged (its tools act on the world). */
  readonly sideEffects?: boolean;
  /** The response cache's scope (a tenant, a user). */
  readonly cacheScope?: string;
  /** `false`: neither read nor write the response cache. */
  readonly cache?: boolean;
  /** Backend-specific options handed to the worker. */
  readonly backendOptions?: Readonly<Record<string, unknown>>;
}

/** The AI SDK's call as cortex's request: `modelId` routes (a tag, a worker's name, a model alias), else the pool chooses. @internal */
export function translate(modelId: string | undefined, call: LanguageModelV4CallOptions): Translated {
  const warnings: SharedV4Warning[] = [];
  const messages = call.prompt.flatMap((m) => message(m));
  const generation = generationOf(call, warnings);
  const own = (call.providerOptions?.cortex ?? {}) as CortexProviderOptions;
  const options: DispatchOptions = {
    ...generation,
    ...(modelId !== undefined ? { model: modelId } : {}),
    ...(call.abortSignal !== undefined ? { signal: call.abortSignal } : {}),
    ...pick(own),
  };
  for (const setting of ['topK', 'presencePenalty', 'frequencyPenalty'] as const) {
    if (call[setting] !== undefined) warnings.push({ type: 'unsupported', feature: setting, details: 'cortex does not carry it to its workers' });
  }
  if (call.reasoning !== undefined && call.reasoning !== 'provider-default') warnings.push({ type: 'unsupported', feature: 'reasoning', details: "each worker's model reasons as it is configured" });
  return { messages, options, warnings };
}

function pick(o: CortexProviderOptions): Partial<DispatchOptions> {
  const out: Partial<Mutable<DispatchOptions>> = {};
  if (typeof o.route === 'string') out.route = o.route;
  if (typeof o.priority === 'number') out.priority = o.priority;
  if (typeof o.sideEffects === 'boolean') out.sideEffects = o.sideEffects;
  if (typeof o.cacheScope === 'string') out.cacheScope = o.cacheScope;
  if (typeof o.cache === 'boolean') out.cache = o.cache;
  if (o.backendOptions !== undefined && typeof o.backendOptions === 'object') out.backendOptions = o.backendOptions as Record<string, unknown>;
  return out;
}

function generationOf(call: LanguageModelV4CallOptions, warnings: SharedV4Warning[]): GenerationOptions {
  const out: Partial<Mutable<GenerationOptions>> = {};
  if (call.maxOutputTokens !== undefined) out.maxTokens = call.maxOutputTokens;
  if (call.temperature !== undefined) out.temperature = call.temperature;
  if (call.topP !== undefined) out.topP = call.topP;
  if (call.stopSequences !== undefined && call.stopSequences.length > 0) out.stop = call.stopSequences;
  if (call.seed !== undefined) out.seed = call.seed;
  const f = call.responseFormat;
  if (f?.type === 'json') out.responseFormat = f.schema === undefined ? { type: 'json' } : { type: 'json_schema', schema: f.schema as Record<string, unknown>, ...(f.name !== undefined ? { name: f.name } : {}) };
  const tools: ToolDefinition[] = [];
  for (const t of call.tools ?? []) {
    if (t.type === 'function') tools.push({ name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.inputSchema as Record<string, unknown> });
    else warnings.push({ type: 'unsupported', feature: `provider-defined tool ${t.name}` });
  }
  if (tools.length > 0) out.tools = tools;
  if (call.toolChoice !== undefined && tools.length > 0) out.toolChoice = toolChoice(call.toolChoice);
  return out;
}

function toolChoice(c: NonNullable<LanguageModelV4CallOptions['toolChoice']>): ToolChoice {
  return c.type === 'tool' ? { name: c.toolName } : c.type;
}

/** One AI SDK message as cortex's: a tool message becomes one message per result. */
function message(m: LanguageModelV4Message): ChatMessage[] {
  switch (m.role) {
    case 'system':
      return [{ role: 'system', content: m.content }];
    case 'user':
      return [{ role: 'user', content: userContent(m.content) }];
    case 'assistant':
      return [assistant(m.content)];
    case 'tool':
      return m.content.flatMap((p) => (p.type === 'tool-result' ? [{ role: 'tool' as const, toolCallId: p.toolCallId, name: p.toolName, content: resultText(p.output) }] : []));
    default:
      throw new UnsupportedPart(`a message of role ${(m as { role: string }).role}`);
  }
}

function userContent(parts: Extract<LanguageModelV4Message, { role: 'user' }>['content']): string | ContentPart[] {
  if (parts.every((p) => p.type === 'text')) return parts.map((p) => p.text).join('');
  return parts.map((p): ContentPart => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image', url: imageUrl(p) }));
}

/** A file part as an image URL (a data: URL for bytes or base64); other files cortex cannot carry. */
function imageUrl(p: Extract<Extract<LanguageModelV4Message, { role: 'user' }>['content'][number], { type: 'file' }>): string {
  if (!p.mediaType.startsWith('image/')) throw new UnsupportedPart(`a file of type ${p.mediaType} (cortex carries images only)`);
  const d = p.data;
  if (d.type === 'url') return d.url.toString();
  if (d.type === 'data') return `data:${p.mediaType === 'image/*' ? 'image/png' : p.mediaType};base64,${typeof d.data === 'string' ? d.data : Buffer.from(d.data).toString('base64')}`;
  throw new UnsupportedPart(`an image given by ${d.type}`);
}

function assistant(parts: Extract<LanguageModelV4Message, { role: 'assistant' }>['content']): ChatMessage {
  let text = '';
  const calls: ToolCall[] = [];
  for (const p of parts) {
    if (p.type === 'text') text += p.text;
    else if (p.type === 'tool-call' && p.providerExecuted !== true) calls.push({ id: p.toolCallId, name: p.toolName, arguments: typeof p.input === 'string' ? p.input : JSON.stringify(p.input ?? {}) });
    // Reasoning, files and provider-executed results of an earlier answer are not sent back.
  }
  return { role: 'assistant', content: text, ...(calls.length > 0 ? { toolCalls: calls } : {}) };
}

/** A tool's result as the text a worker reads. */
function resultText(o: LanguageModelV4ToolResultOutput): string {
  switch (o.type) {
    case 'text':
    case 'error-text':
      return o.value;
    case 'json':
    case 'error-json':
      return JSON.stringify(o.value);
    case 'execution-denied':
      return `The tool was not run: ${o.reason ?? 'denied'}`;
    case 'content':
      return o.value.map((v) => (v.type === 'text' ? v.text : `[${v.type}]`)).join('\n');
    default:
      return JSON.stringify(o);
  }
}
