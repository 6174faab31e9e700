// The replicator worker's first module, plain JavaScript: it registers tsx in this thread
// (Node 20 does not hand the parent's `--import tsx` hooks to a worker), then runs the entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
