export type {
  Role,
  ChatMessage,
  ContentPart,
  ToolCall,
  ToolDefinition,
  ToolChoice,
  ResponseFormat,
  GenerationOptions,
  ToolCallDelta,
  FinishReason,
  Usage,
  CompletionChunk,
  StreamOptions,
  Health,
  WorkerInfo,
  WorkerCapabilities,
  Price,
  LlmWorker,
  RateLimitHint,
} from './types.js';
export { ABORTS_PROMPTLY, messageText } from './types.js';
export { chatMessageSchema, messagesSchema, validateMessages } from './validate.js';
export { collectToolCalls } from './tool-calls.js';
