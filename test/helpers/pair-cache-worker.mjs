// A worker thread for test/dedup/grouping.test.ts: adds its pairs to a shared PairCache (loaded
// from the TypeScript sources through tsx), then reports how many of them it cannot find.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { PairCache } = await import('../../src/dedup/group-phase.ts');
const cache = new PairCache(workerData.buffer);
const { pairs } = workerData;
for (let i = 0; i < pairs.length; i += 2) cache.add(pairs[i], pairs[i + 1]);
let missing = 0;
for (let i = 0; i < pairs.length; i += 2) if (!cache.has(pairs[i], pairs[i + 1])) missing++;
parentPort.postMessage(missing);
