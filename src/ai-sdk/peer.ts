import { createRequire } from 'node:module';
import { MissingPeerError } from '../errors/runtime.js';

/** What the bridge uses of `@ai-sdk/provider` at run time: the AI SDK's own error classes. @internal */
export interface AiSdkProvider {
  readonly APICallError: typeof import('@ai-sdk/provider').APICallError;
  readonly UnsupportedFunctionalityError: typeof import('@ai-sdk/provider').UnsupportedFunctionalityError;
}

let loaded: AiSdkProvider | undefined;

/** `@ai-sdk/provider` (an optional peer, installed with `ai`), loaded on first use. @throws MissingPeerError without it. @internal */
export function aiSdkProvider(): AiSdkProvider {
  if (loaded !== undefined) return loaded;
  try {
    return (loaded = createRequire(import.meta.url)('@ai-sdk/provider') as AiSdkProvider);
  } catch {
    throw new MissingPeerError('@ai-sdk/provider', 'the AI SDK provider (cortex-otp/ai-sdk)');
  }
}
