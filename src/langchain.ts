/**
 * A LangChain chat model over the pool: `import { ChatCortex } from 'cortex-otp/langchain'`.
 * Needs `@langchain/core` (a peer dependency of this entry only).
 * @packageDocumentation
 */
export { ChatCortex, type ChatCortexInput, type ChatCortexCallOptions } from './langchain/chat-cortex.js';
