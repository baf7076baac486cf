// A worker thread for test/dedup/union-find.test.ts: joins its share of the edges on the shared
// parent array with SharedUnionFind (loaded from the TypeScript sources through tsx).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { SharedUnionFind } = await import('../../src/dedup/union-find.ts');
const uf = new SharedUnionFind(workerData.parent);
const { edges } = workerData;
let merged = 0;
for (let i = 0; i < edges.length; i += 2) {
  if (!uf.connected(edges[i], edges[i + 1]) && uf.union(edges[i], edges[i + 1])) merged++;
}
parentPort.postMessage(merged);
