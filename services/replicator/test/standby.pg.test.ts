// Two replicator processes: one leads, one waits on the advisory lock. Killing the
// leader (-9) hands the stream to the standby within 5 s, and nothing is lost or doubled.
import { expect, test } from 'vitest';
import { expectDense, stateOf, useDatabase, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';

const fx = useDatabase();

const pidOf = (leader: string | null) => Number(leader?.split(':')[1]);

test('the standby takes over within 5 s of the leader being killed, and finishes the stream', async () => {
  const a = fx.spawn();
  const b = fx.spawn();
  await waitForMode(fx.pool, 'wal');
  const first = (await stateOf(fx.pool)).leader;
  const [leader, standby] = pidOf(first) === a.proc.pid ? [a, b] : [b, a];
  expect(pidOf(first)).toBe(leader.proc.pid);
  await waitFor('the other process to report standby', async () => standby.output().includes('standby: another replicator holds the leader lock'));

  const signal = { stop: false };
  const load = writeLoad(fx.db.url, { writers: 4, total: 1_000_000, signal });
  await waitFor('part of the burst to be stamped', async () => (await stateOf(fx.pool)).head > 2000, 60_000);
  leader.proc.kill('SIGKILL');
  await leader.exited;
  await waitFor('the standby to lead', async () => pidOf((await stateOf(fx.pool)).leader) === standby.proc.pid, 5000, 50);
  await waitForMode(fx.pool, 'wal');
  await new Promise((r) => setTimeout(r, 500));
  signal.stop = true;
  await load;
  await waitForAllStamped(fx.pool, 90_000);
  expect(await expectDense(fx.pool)).toBeGreaterThan(2000);
  expect(standby.output()).toMatch(/leader: stamping from here/);
});
