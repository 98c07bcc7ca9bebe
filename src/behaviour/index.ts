export type {
  Role,
  ChatMessage,
  FinishReason,
  Usage,
  CompletionChunk,
  StreamOptions,
  Health,
  WorkerInfo,
  LlmWorker,
  RateLimitHint,
} from './types.js';
export { ABORTS_PROMPTLY } from './types.js';
export { chatMessageSchema, messagesSchema, validateMessages } from './validate.js';
