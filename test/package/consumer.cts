// A strict CommonJS consumer of the built package (skipLibCheck: false): `npm run check:package`.
import cortex = require('cortex-otp');
import testing = require('cortex-otp/testing');

async function main(): Promise<string> {
  const workers = await cortex.startWorkers({ workers: [new testing.MockWorker()], healthIntervalMs: 0 });
  const answer = await workers.dispatcher.complete([{ role: 'user', content: 'hi' }]);
  await workers.stop();
  return answer.text;
}
export = main;
