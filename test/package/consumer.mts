// A strict ESM consumer of the built package (skipLibCheck: false): `npm run check:package`.
import { startWorkers, createSystem, call, reply, isShutdownError, type Behaviour, type StreamChunk } from 'cortex-otp';
import { MockWorker, startFakeOllama } from 'cortex-otp/testing';
import { collectMetrics, type CortexMetrics } from 'cortex-otp/metrics';
import { traceRequests } from 'cortex-otp/tracing';
import { createCortex, type CortexProvider } from 'cortex-otp/ai-sdk';
import type { LanguageModelV4 } from '@ai-sdk/provider';

type Echo = { call: { type: 'echo'; text: string }; replies: { echo: string } };
const echo: Behaviour<null, Echo> = { init: () => null, handleCall: (msg, s) => reply(msg.text, s) };

const system = createSystem();
const ref = await system.spawn(echo, undefined);
const said: string = await call(ref, { type: 'echo', text: 'hi' });
const cortex = await startWorkers({ workers: [new MockWorker()], healthIntervalMs: 0 });
const metrics: CortexMetrics = collectMetrics(cortex);
metrics.dispose();
traceRequests(cortex).dispose();
// The provider's models are what the AI SDK's functions take (its \`ai\` package's own types need the DOM lib).
const provider: CortexProvider = createCortex(cortex);
const model: LanguageModelV4 = provider('fast');
void model;
const chunks: StreamChunk[] = [];
for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: said }])) chunks.push(c);
await cortex.stop({ drainMs: 0 });
const fake = await startFakeOllama();
await fake.close();
export const ok: boolean = chunks.length > 0 && !isShutdownError(undefined);
