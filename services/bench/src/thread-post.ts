// What a stamped batch costs to cross from the replicator's worker thread to the main one:
// 1,000 UPDATEs of extraction_jobs rows (both images), as postMessage clones them, against
// JSON text. Run: npx tsx services/bench/src/thread-post.ts
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { StampedChange } from '@realtime/db';

const ROWS = 1000;
const ROUNDS = 200;

function job(i: number, status: string): Record<string, unknown> {
  return {
    id: `6f1c2a9e-0b7d-4c1e-9a53-${String(i).padStart(12, '0')}`,
    project_id: '0d6e1f44-93b2-4f7a-8c1d-5a2b3c4d5e6f',
    document_name: `invoice-${i}.pdf`,
    status,
    progress: i % 100,
    error: null,
    started_at: '2025-01-01T10:00:00.123456+00:00',
    finished_at: null,
    created_at: '2025-01-01T09:59:59.654321+00:00',
    updated_at: '2025-01-01T10:00:01.000001+00:00',
  };
}

export function batch(from: number): StampedChange[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    id: from + i,
    seq: from + i,
    table: 'extraction_jobs',
    op: 'UPDATE' as const,
    rowId: `6f1c2a9e-0b7d-4c1e-9a53-${String(i).padStart(12, '0')}`,
    newRow: job(i, 'processing'),
    oldRow: job(i, 'queued'),
    txid: String(1_000_000 + i),
    actor: 'simulator',
    committedAt: '2025-01-01T10:00:01.000Z',
    rowBytes: 640,
    fp: 'AbCdEfGhIjKl',
  }));
}

function perBatch(ms: number): string {
  return `${((ms / ROUNDS) * 1000).toFixed(0)} µs`;
}

/** One thread: the serializer's and the deserializer's share, apart (postMessage uses the same ones). */
function local(): void {
  const b = batch(1);
  const json = JSON.stringify(b);
  for (let i = 0; i < 50; i++) v8.deserialize(v8.serialize(b)), JSON.parse(JSON.stringify(b));
  let t = performance.now();
  let bytes = 0;
  for (let i = 0; i < ROUNDS; i++) bytes = v8.serialize(b).length;
  const ser = performance.now() - t;
  const buf = v8.serialize(b);
  t = performance.now();
  for (let i = 0; i < ROUNDS; i++) v8.deserialize(buf);
  const de = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < ROUNDS; i++) JSON.stringify(b);
  const js = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < ROUNDS; i++) JSON.parse(json);
  const jp = performance.now() - t;
  process.stdout.write(
    `per ${ROWS} rows: structured clone ${perBatch(ser)} to write (worker), ${perBatch(de)} to read (main), ${(bytes / 1024).toFixed(0)} KiB; ` +
      `JSON ${perBatch(js)} to write, ${perBatch(jp)} to read, ${(json.length / 1024).toFixed(0)} KiB\n`,
  );
}

/** Across threads: the main thread's busy time per batch received (event loop utilization). */
async function across(mode: 'clone' | 'json'): Promise<void> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const b = (${batch.toString().replace(/\(\)\s*=>/, '() =>')});
    const job = ${job.toString()};
    const ROWS = ${ROWS};
    const data = b(1);
    const text = JSON.stringify(data);
    let sent = 0;
    const t = setInterval(() => {
      parentPort.postMessage(workerData.mode === 'json' ? JSON.stringify(data) : data);
      if (++sent === ${ROUNDS}) clearInterval(t);
    }, 5);
  `;
  const worker = new Worker(code, { eval: true, workerData: { mode } });
  let got = 0;
  let elu = performance.eventLoopUtilization();
  let started = false;
  await new Promise<void>((resolve) => {
    worker.on('message', (m: unknown) => {
      if (!started) {
        started = true;
        elu = performance.eventLoopUtilization();
      }
      const rows = mode === 'json' ? (JSON.parse(m as string) as StampedChange[]) : (m as StampedChange[]);
      if (rows.length !== ROWS) throw new Error('short batch');
      if (++got === ROUNDS) resolve();
    });
  });
  const used = performance.eventLoopUtilization(elu);
  await worker.terminate();
  process.stdout.write(`across threads (${mode}): main thread busy ${perBatch(used.active)} per batch of ${ROWS}\n`);
}

local();
await across('clone');
await across('json');
