// kill -9 of a real replicator process in the middle of a burst, twice: after each
// restart the stamps are still exactly 1..N, and at each kill every unstamped row
// belonged to a transaction the slot will deliver again (no LSN confirmed past it).
import { expect, test } from 'vitest';
import { expectDense, stateOf, useDatabase, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';

const fx = useDatabase();

/** xids (32-bit) of transactions that still have unstamped outbox rows. */
async function unstampedXids(): Promise<Set<string>> {
  const { rows } = await fx.pool.query(`SELECT DISTINCT (txid::text::numeric % 4294967296)::bigint::text AS xid FROM change_outbox WHERE seq IS NULL`);
  return new Set(rows.map((r) => r.xid as string));
}

/** xids of the transactions the slot would send again, read without consuming them. */
async function redeliverableXids(): Promise<Set<string>> {
  const { rows } = await fx.pool.query(
    `SELECT DISTINCT xid::text AS xid FROM pg_logical_slot_peek_binary_changes('realtime_outbox', NULL, NULL,
       'proto_version', '1', 'publication_names', 'realtime_outbox')`,
  );
  return new Set(rows.map((r) => r.xid as string));
}

test('kill -9 mid-burst, twice: 1..N, nothing stamped twice, nothing confirmed past an unstamped row', async () => {
  let child = fx.spawn();
  await waitForMode(fx.pool, 'wal');

  for (let round = 1; round <= 2; round++) {
    const signal = { stop: false };
    const load = writeLoad(fx.db.url, { writers: 4, total: 1_000_000, signal });
    const start = (await stateOf(fx.pool)).head;
    await waitFor('the replicator to stamp part of the burst', async () => (await stateOf(fx.pool)).head > start + 3000, 60_000);
    child.proc.kill('SIGKILL');
    expect(await child.exited).toBeNull();
    signal.stop = true;
    await load;

    // The dead walsender lets go of the slot once Postgres sees the socket closed.
    await waitFor('the slot to be released', async () => {
      const { rows } = await fx.pool.query(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'realtime_outbox'`);
      return rows[0] && rows[0].active_pid === null;
    });
    const unstamped = await unstampedXids();
    expect(unstamped.size).toBeGreaterThan(0);
    const again = await redeliverableXids();
    const missing = [...unstamped].filter((x) => !again.has(x));
    expect(missing, 'transactions with unstamped rows that the slot would never send again').toEqual([]);

    child = fx.spawn();
    await waitForAllStamped(fx.pool, 90_000);
    await expectDense(fx.pool);
  }
  const n = await expectDense(fx.pool);
  expect(n).toBeGreaterThan(6000);
  const { rows } = await fx.pool.query(`SELECT mode FROM realtime_state`);
  expect(rows[0].mode).toBe('wal');
  child.proc.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  expect((await stateOf(fx.pool)).mode).toBe('down');
});
