// The replicator's worker thread: a Replicator with its own event loop, logger and metrics
// registry; its stamped batches, status and metrics go to the thread that started it.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { jsonDepthOver, STREAM_DEPTH_LIMIT } from '@realtime/db';
import { adoptStopFlag, createLogger, metricsRegistry } from '@realtime/runtime';
import { Replicator } from '../replicator';
import type { FromWorker, ToWorker, WorkerInit } from './messages';

/** How often the worker looks for a status change to push. */
const STATUS_CHECK_MS = 100;

export async function runWorker(port: MessagePort, init: WorkerInit): Promise<void> {
  adoptStopFlag(init.stopFlag);
  const post = (m: FromWorker) => port.postMessage(m);
  // Lines go to the parent over the same port as `stopped`: it writes them where and how
  // it writes its own, and each before it hears that the replicator stopped.
  const log = createLogger(init.log.level, init.log.bindings, { format: 'json', sink: (line) => post({ type: 'log', line }) });
  const replicator = new Replicator({ ...init.config, log });
  let last = '';
  let lastAt = 0;
  // On a change, and at least every statusEveryMs.
  const pushStatus = () => {
    const status = replicator.status();
    const key = JSON.stringify(status);
    if (key === last && Date.now() - lastAt < init.statusEveryMs) return;
    last = key;
    lastAt = Date.now();
    post({ type: 'status', status });
  };
  // Registered before start: the replicator asks for the stamped rows only when someone listens.
  replicator.onStamped((changes, head) => {
    const status = replicator.status();
    last = JSON.stringify(status);
    // A row nested thousands deep (captured before the trigger refused such rows, or written
    // into the outbox by hand) clones here but overflows the stack where the clone is read,
    // losing the whole message. Such changes stay behind; the feed reads the gap they leave
    // from the outbox. Nesting takes bytes, so only large rows are walked.
    const tooDeep = changes.filter((c) => (c.rowBytes === 0 || c.rowBytes > 2 * STREAM_DEPTH_LIMIT) && (jsonDepthOver(c.newRow, STREAM_DEPTH_LIMIT) || jsonDepthOver(c.oldRow, STREAM_DEPTH_LIMIT)));
    const carried = tooDeep.length ? changes.filter((c) => !tooDeep.includes(c)) : changes;
    if (tooDeep.length) log.error({ component: 'replicator', seqs: tooDeep.map((c) => c.seq) }, `stamped changes nested more than ${STREAM_DEPTH_LIMIT} levels deep were not handed to the main thread; the feed reads them from the outbox`);
    post({ type: 'stamped', changes: carried, head, status });
  });
  const timer = setInterval(pushStatus, STATUS_CHECK_MS);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'metrics') {
      metricsRegistry.getMetricsAsJSON().then(
        (metrics) => post({ type: 'metrics', id: m.id, metrics }),
        (err: unknown) => {
          log.warn({ err, component: 'replicator' }, 'could not collect the replicator thread\'s metrics');
          post({ type: 'metrics', id: m.id, metrics: null });
        },
      );
    } else if (m.type === 'stop') {
      clearInterval(timer);
      replicator
        .stop()
        .catch((err: unknown) => log.error({ err, component: 'replicator' }, 'the replicator did not stop cleanly'))
        .finally(() => post({ type: 'stopped', status: replicator.status() }));
    }
  });
  await replicator.start();
  post({ type: 'ready', status: replicator.status() });
}

if (parentPort && (workerData as WorkerInit | undefined)?.entry) await runWorker(parentPort, workerData as WorkerInit);
