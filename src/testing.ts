/**
 * Test helpers for apps built on cortex: `import { MockWorker } from 'cortex-otp/testing'`.
 * @packageDocumentation
 */
export { MockWorker, type MockWorkerOptions, type MockCall } from './testing/mock-worker.js';
export { SimulatedClock } from './runtime/clock.js';
export {
  startFakeOllama,
  type FakeOllama,
  type FakeOllamaOptions,
  type FakeOllamaScript,
  type FakeOllamaRequest,
} from './testing/fake-ollama.js';
export { withFaults, type FaultOptions } from './testing/faults.js';
export { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions, type FakeOpenAIScript } from './testing/fake-openai.js';
export { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions, type FakeAnthropicScript } from './testing/fake-anthropic.js';
export { startRedisServer, RedisServerError, type RedisServer, type RedisServerOptions } from './testing/redis-server.js';
