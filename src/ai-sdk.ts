/**
 * cortex as a Vercel AI SDK provider: `import { createCortex } from 'cortex-otp/ai-sdk'`. Needs
 * `@ai-sdk/provider` (installed with `ai`), an optional peer loaded only here.
 * @packageDocumentation
 */
export { createCortex, type CortexProvider, type CortexProviderSettings, type CortexSource } from './ai-sdk/provider.js';
export type { CortexProviderOptions } from './ai-sdk/prompt.js';
export { AiSdkWorker, type AiSdkWorkerOptions } from './ai-sdk/worker.js';
