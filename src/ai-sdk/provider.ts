import type { LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4GenerateResult, LanguageModelV4StreamPart, LanguageModelV4StreamResult } from '@ai-sdk/provider';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { StreamChunk } from '../dispatcher/options.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import { contentOf, PartWriter, streamStart } from './answer.js';
import { toAiSdkError } from './errors.js';
import { aiSdkProvider, type AiSdkProvider } from './peer.js';
import { translate, UnsupportedPart } from './prompt.js';

/** What {@link createCortex} serves: a `startWorkers` handle (its dispatcher). */
export interface CortexSource {
  readonly dispatcher: Dispatcher;
}

/** Options of {@link createCortex}. */
export interface CortexProviderSettings {
  /** The provider's name in the AI SDK's results and telemetry. Default `'cortex'`. */
  readonly name?: string;
}

/**
 * cortex as an AI SDK provider: `cortex('code')` is a language model whose id is a route, a
 * tag, a worker's name or a model alias (as a request's `model`), `cortex()` the pool's choice.
 */
export interface CortexProvider {
  (modelId?: string): LanguageModelV4;
  /** The same as calling the provider. */
  languageModel(modelId?: string): LanguageModelV4;
}

/**
 * An AI SDK provider over a cortex pool: `streamText`, `generateText`, `generateObject`, tools
 * and `useChat`'s server side get the pool's failover (before the first chunk, invisible),
 * circuits, limits, hedging and cache without leaving the AI SDK's API. Needs `@ai-sdk/provider`
 * (installed with `ai`), loaded when this is called.
 * @throws MissingPeerError without `@ai-sdk/provider`; InvalidArgumentError for a bad source or name.
 * @example
 * const cortex = createCortex(workers);
 * const { text } = await generateText({ model: cortex('fast'), prompt: 'Hello' });
 */
export function createCortex(source: CortexSource, settings: CortexProviderSettings = {}): CortexProvider {
  checkObject(source, 'source');
  if (typeof source.dispatcher?.dispatchStream !== 'function') throw new InvalidArgumentError('source.dispatcher', 'a Dispatcher (from startWorkers)', source.dispatcher);
  checkObject(settings, 'settings');
  const name = settings.name ?? 'cortex';
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('settings.name', 'a non-empty string', name);
  const peer = aiSdkProvider();
  const model = (modelId?: string): LanguageModelV4 => {
    if (modelId !== undefined && (typeof modelId !== 'string' || modelId === '')) throw new InvalidArgumentError('modelId', 'a route, tag, worker name or model (a non-empty string), or nothing', modelId);
    return new CortexLanguageModel(source.dispatcher, peer, name, modelId);
  };
  return Object.assign(model, { languageModel: model });
}

/** One route of the pool as an AI SDK language model (the `v4` specification). */
class CortexLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = 'v4';
  readonly modelId: string;
  /** None: the AI SDK downloads URLs and hands the bytes over (not every worker takes an image by URL). */
  readonly supportedUrls = {};

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly peer: AiSdkProvider,
    readonly provider: string,
    private readonly route: string | undefined,
  ) {
    this.modelId = route ?? 'pool';
  }

  async doGenerate(call: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    const { stream, request } = await this.doStream(call);
    const parts: LanguageModelV4StreamPart[] = [];
    let warnings: LanguageModelV4GenerateResult['warnings'] = [];
    const reader = stream.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      if (r.value.type === 'error') throw r.value.error;
      if (r.value.type === 'stream-start') warnings = r.value.warnings;
      parts.push(r.value);
    }
    const meta = parts.find((p): p is Extract<LanguageModelV4StreamPart, { type: 'response-metadata' }> => p.type === 'response-metadata');
    return { ...contentOf(parts), warnings, ...(request !== undefined ? { request } : {}), ...(meta?.modelId !== undefined ? { response: { modelId: meta.modelId } } : {}) };
  }

  /**
   * Starts the request and waits for its first chunk, so that a request no worker can take
   * fails here (an `APICallError` the AI SDK's retry logic reads), as an HTTP provider's does
   * when its response comes back.
   */
  async doStream(call: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    let t: ReturnType<typeof translate>;
    try {
      t = translate(this.route, call);
    } catch (e) {
      if (e instanceof UnsupportedPart) throw new this.peer.UnsupportedFunctionalityError({ functionality: e.functionality });
      throw e;
    }
    const body = { messages: t.messages, route: this.route };
    const it = this.dispatcher.dispatchStream(t.messages, t.options)[Symbol.asyncIterator]();
    let first: IteratorResult<StreamChunk>;
    try {
      first = await it.next();
    } catch (e) {
      throw toAiSdkError(this.peer, e, this.route, body);
    }
    return { stream: partsOf(it, first, t.warnings, (e) => toAiSdkError(this.peer, e, this.route, body)), request: { body } };
  }
}

/** The rest of the answer as stream parts, from its first chunk on; a break is an error part. */
function partsOf(it: AsyncIterator<StreamChunk>, first: IteratorResult<StreamChunk>, warnings: ReturnType<typeof translate>['warnings'], mapError: (e: unknown) => unknown): ReadableStream<LanguageModelV4StreamPart> {
  let writer: PartWriter;
  let pending: IteratorResult<StreamChunk> | undefined = first;
  return new ReadableStream<LanguageModelV4StreamPart>({
    start(controller) {
      writer = new PartWriter((p) => controller.enqueue(p));
      controller.enqueue(streamStart(warnings));
    },
    // One chunk of cortex's answer per pull: the AI SDK's reading paces the pool's (and the backend's).
    async pull(controller) {
      try {
        const r = pending ?? (await it.next());
        pending = undefined;
        if (r.done) {
          writer.end();
          return controller.close();
        }
        writer.chunk(r.value);
        if (r.value.done) {
          writer.end();
          controller.close();
          await it.return?.(undefined); // the request ends now, not when the stream is collected
        }
      } catch (e) {
        writer.broke(mapError(e));
        controller.close();
      }
    },
    cancel() {
      void it.return?.(undefined);
    },
  });
}
