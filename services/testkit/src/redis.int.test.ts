// The harness against Debian's real redis-server: start, freeze, kill, restart on the
// same port empty, stop, and no server left behind by a test process that ends or dies.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { ping, startRedis, type RunningRedis } from './redis';
import { waitFor } from './wait';

const here = path.dirname(fileURLToPath(import.meta.url));

/** One command over a raw socket, its first reply line (`+OK`, `$-1`, `$3`...). */
function command(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('error', reject);
    sock.on('connect', () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    sock.on('data', (d: Buffer) => {
      got += d.toString();
      if (!got.includes('\r\n')) return;
      sock.destroy();
      resolve(got.slice(0, got.indexOf('\r\n')));
    });
  });
}

/** The process state letter from /proc (T: stopped by a signal). */
function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const started: RunningRedis[] = [];
async function start(): Promise<RunningRedis> {
  const r = await startRedis();
  started.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()));
});

describe('startRedis', () => {
  test('answers on a loopback port of its own, in a folder of its own', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.url).toBe(`redis://127.0.0.1:${a.port}`);
    expect(a.port).not.toBe(b.port);
    expect(a.dir).not.toBe(b.dir);
    expect(existsSync(a.dir)).toBe(true);
    expect(a.running).toBe(true);
    expect(await ping(a.port)).toBe(true);
    expect(await command(a.port, 'SET', 'k', 'v')).toBe('+OK');
    expect(await command(b.port, 'GET', 'k')).toBe('$-1');
    // Persistence off: nothing would survive a restart even if it were not emptied.
    expect(await command(a.port, 'CONFIG', 'GET', 'appendonly')).toBe('*2');
  });

  test('pause freezes it (a PING waits) and resume answers that PING', async () => {
    const r = await start();
    await r.pause();
    expect(r.running).toBe(true);
    expect(state(r.pid)).toBe('T');
    let answered = false;
    const pong = ping(r.port, 60_000).then((v) => (answered = v));
    // A stopped process cannot answer: the PING is still waiting when it resumes.
    expect(answered).toBe(false);
    await r.resume();
    expect(state(r.pid)).not.toBe('T');
    expect(await pong).toBe(true);
  });

  test('kill ends the process; restart brings an empty one on the same port', async () => {
    const r = await start();
    const firstPid = r.pid;
    expect(await command(r.port, 'SET', 'k', 'v')).toBe('+OK');
    await r.kill();
    expect(r.running).toBe(false);
    expect(pidAlive(firstPid)).toBe(false);
    await expect(ping(r.port)).rejects.toThrow(/ECONNREFUSED/);
    await r.restart();
    expect(r.running).toBe(true);
    expect(r.pid).not.toBe(firstPid);
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    expect(await command(r.port, 'GET', 'k')).toBe('$-1');
  });

  test('restart of a live server replaces it with an empty one', async () => {
    const r = await start();
    const firstPid = r.pid;
    expect(await command(r.port, 'SET', 'k', 'v')).toBe('+OK');
    await r.restart();
    expect(pidAlive(firstPid)).toBe(false);
    expect(await command(r.port, 'GET', 'k')).toBe('$-1');
  });

  test('stop ends a paused server too and removes its folder', async () => {
    const r = await start();
    const pid = r.pid;
    await r.pause();
    await r.stop();
    expect(r.running).toBe(false);
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(r.dir)).toBe(false);
    await expect(r.restart()).rejects.toThrow(/startRedis\(\)/);
  });
});

describe('no redis-server outlives the process that started it', () => {
  // A node process that starts a server, prints its pid, then ends as `how` says.
  async function orphanOf(how: 'exit' | 'SIGKILL'): Promise<number> {
    const end = how === 'exit' ? 'process.exit(0)' : "process.kill(process.pid, 'SIGKILL')";
    const code = `const { startRedis } = await import(${JSON.stringify(path.join(here, 'redis.ts'))}); const r = await startRedis(); console.log('pid=' + r.pid); ${end};`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const m = /pid=(\d+)/.exec(out);
    if (!m) throw new Error(`the child printed no pid:\n${out}`);
    return Number(m[1]);
  }

  test.each(['exit', 'SIGKILL'] as const)('when it ends by %s', async (how) => {
    const pid = await orphanOf(how);
    await waitFor(() => !pidAlive(pid), { what: `redis-server ${pid} to go after its parent's ${how}` });
    expect(pidAlive(pid)).toBe(false);
  });
});
