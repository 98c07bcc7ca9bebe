/**
 * The pool over OpenAI- and Ollama-compatible HTTP: `import { serveGateway } from 'cortex-otp/gateway'`.
 * @packageDocumentation
 */
export {
  createGateway,
  serveGateway,
  type GatewaySource,
  type GatewayOptions,
  type ServeGatewayOptions,
  type GatewayHandler,
  type GatewayServer,
} from './gateway/gateway.js';
export type { GatewayKey, KeyBudget, KeyBudgetState } from './gateway/keys.js';
export type { KeyUsage } from './gateway/usage.js';
