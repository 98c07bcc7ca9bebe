// A strict CommonJS consumer of the built package (skipLibCheck: false): `npm run check:package`.
import cortex = require('cortex-otp');
import testing = require('cortex-otp/testing');
import metricsApi = require('cortex-otp/metrics');

async function main(): Promise<string> {
  const workers = await cortex.startWorkers({ workers: [new testing.MockWorker()], healthIntervalMs: 0 });
  const metrics = metricsApi.collectMetrics(workers);
  const answer = await workers.dispatcher.complete([{ role: 'user', content: 'hi' }]);
  metrics.dispose();
  await workers.stop();
  return answer.text;
}
export = main;
