// The worker entry when tokenmix runs from its TypeScript sources (tests, tsx): Node 20 does
// not pass the parent's loader hooks to worker threads, so register tsx here, then load the
// real entry. The compiled package uses dist/src/exec/worker.js directly.
import { register } from 'tsx/esm/api';

register();
const { default: runTask } = await import('./worker.ts');
export default runTask;
