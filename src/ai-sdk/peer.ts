import { peer } from '../lazy-require.js';

/** What the bridge uses of `@ai-sdk/provider` at run time: the AI SDK's own error classes. @internal */
export interface AiSdkProvider {
  readonly APICallError: typeof import('@ai-sdk/provider').APICallError;
  readonly UnsupportedFunctionalityError: typeof import('@ai-sdk/provider').UnsupportedFunctionalityError;
}

/** `@ai-sdk/provider` (an optional peer, installed with `ai`), loaded on first use. @throws MissingPeerError without it. @internal */
export const aiSdkProvider = peer<AiSdkProvider>('@ai-sdk/provider', 'the AI SDK provider (cortex-otp/ai-sdk)');
