import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { anchoredDataDir, clearRecord, locateEmbedded, parsePostmasterPid, planEmbedded, recordFile, runningPostmaster, runningRecorded, writeRecord, type PlanInput } from './locate';

// postmaster.pid as Postgres writes it: pid, data folder, start time, port, socket dir, listen address, shmem key, status.
const pidFile = (pid: number, port: number, dataDir = '/d') => `${pid}\n${dataDir}\n1795793682\n${port}\n\n127.0.0.1\n  1234567         1\nready   \n`;

describe('parsePostmasterPid', () => {
  test.each([
    { name: 'a running server', text: pidFile(4242, 54329), want: { pid: 4242, port: 54329 } },
    { name: 'empty', text: '', want: null },
    { name: 'no port line yet (starting)', text: '4242\n/d\n1795793682\n', want: null },
    { name: 'garbage', text: 'x\ny\nz\nw\n', want: null },
  ])('$name', ({ text, want }) => {
    expect(parsePostmasterPid(text)).toEqual(want);
  });
});

describe('anchoredDataDir', () => {
  test.each([
    { pgDir: '.data/pg2', want: '/clone/.data/pg2' },
    { pgDir: '../elsewhere', want: '/elsewhere' },
    { pgDir: '/var/tmp/pg', want: '/var/tmp/pg' },
  ])('EMBEDDED_PG_DIR=$pgDir is $want whatever the working folder', ({ pgDir, want }) => {
    expect(anchoredDataDir('/clone', pgDir)).toBe(want);
  });
});

describe('planEmbedded', () => {
  const base: PlanInput = { dataDir: '/clone/.data/postgres', dirFromEnv: false, port: 54329, portFromEnv: false, running: null, recorded: null };
  test.each<{ name: string; input: Partial<PlanInput>; want: unknown }>([
    { name: 'nothing runs: start on the chosen folder and port', input: {}, want: { kind: 'start', dataDir: '/clone/.data/postgres', port: 54329 } },
    {
      name: 'a server runs on the folder: reuse it on its own port, whatever EMBEDDED_PG_PORT says',
      input: { running: { pid: 1, port: 55000 } },
      want: { kind: 'reuse', dataDir: '/clone/.data/postgres', port: 55000, reason: 'data folder' },
    },
    {
      name: 'npm start runs elsewhere (its own EMBEDDED_PG_DIR), this command has none: reuse that one',
      input: { recorded: { dataDir: '/var/tmp/pg', port: 54400 } },
      want: { kind: 'reuse', dataDir: '/var/tmp/pg', port: 54400, reason: 'recorded' },
    },
    {
      name: 'the recorded cluster is the chosen folder but not running: start it',
      input: { recorded: { dataDir: '/clone/.data/postgres', port: 54329 } },
      want: { kind: 'start', dataDir: '/clone/.data/postgres', port: 54329 },
    },
    {
      name: 'EMBEDDED_PG_DIR and EMBEDDED_PG_PORT both set while the recorded cluster runs: a deliberate second cluster',
      input: { dataDir: '/tmp/test/data', dirFromEnv: true, port: 40001, portFromEnv: true, recorded: { dataDir: '/var/tmp/pg', port: 54400 } },
      want: { kind: 'start', dataDir: '/tmp/test/data', port: 40001, beside: { dataDir: '/var/tmp/pg', port: 54400 } },
    },
    {
      name: 'EMBEDDED_PG_PORT alone set, npm start runs elsewhere: the folder is not chosen, so the running cluster',
      input: { port: 40001, portFromEnv: true, recorded: { dataDir: '/var/tmp/pg', port: 54400 } },
      want: { kind: 'reuse', dataDir: '/var/tmp/pg', port: 54400, reason: 'recorded' },
    },
    {
      name: 'a server on the chosen folder wins over the record',
      input: { running: { pid: 1, port: 54329 }, recorded: { dataDir: '/var/tmp/pg', port: 54400 }, dirFromEnv: true },
      want: { kind: 'reuse', dataDir: '/clone/.data/postgres', port: 54329, reason: 'data folder' },
    },
  ])('$name', ({ input, want }) => {
    expect(planEmbedded({ ...base, ...input })).toEqual(want);
  });

  test('EMBEDDED_PG_DIR names another folder while the recorded cluster runs: refused, naming both folders and the ways out', () => {
    const plan = planEmbedded({ ...base, dataDir: '/clone/.data/other', dirFromEnv: true, recorded: { dataDir: '/var/tmp/pg', port: 54400 } });
    expect(plan.kind).toBe('conflict');
    const message = plan.kind === 'conflict' ? plan.message : '';
    expect(message).toMatch(/\/var\/tmp\/pg \(port 54400\)/);
    expect(message).toMatch(/EMBEDDED_PG_DIR=\/clone\/\.data\/other here would start a second cluster/);
    expect(message).toMatch(/unset EMBEDDED_PG_DIR \(or set EMBEDDED_PG_DIR=\/var\/tmp\/pg\)/);
    expect(message).toMatch(/Ctrl-C/);
    expect(message).toMatch(/set EMBEDDED_PG_PORT too/);
    expect(message).toMatch(/DATABASE_URL/);
  });
});

describe('on disk', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'locate-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  const dataDirWith = async (name: string, pid: number, port: number) => {
    const dir = path.join(root, name);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'postmaster.pid'), pidFile(pid, port, dir));
    return dir;
  };

  test('a pid file counts only while its process lives', async () => {
    const live = await dataDirWith('live', process.pid, 54400);
    expect(runningPostmaster(live)).toEqual({ pid: process.pid, port: 54400 });
    // A crash leaves the file behind; pid 2^22 + 1 is above Linux's pid_max.
    expect(runningPostmaster(await dataDirWith('crashed', 4_194_305, 54400))).toBeNull();
    expect(runningPostmaster(path.join(root, 'none'))).toBeNull();
  });

  test('the record is followed while its cluster runs, and cleared only by the cluster it names', async () => {
    const live = await dataDirWith('live', process.pid, 54400);
    expect(runningRecorded(root)).toBeNull();
    writeRecord(root, { dataDir: live, port: 54400 });
    expect(runningRecorded(root)).toEqual({ dataDir: live, port: 54400 });
    expect(locateEmbedded(root, path.join(root, '.data', 'postgres'), { dirFromEnv: false, port: undefined })).toEqual({ kind: 'reuse', dataDir: live, port: 54400, reason: 'recorded' });
    clearRecord(root, { dataDir: path.join(root, 'other'), port: 1 });
    expect(runningRecorded(root)).not.toBeNull();
    clearRecord(root, { dataDir: live, port: 54400 });
    await expect(fs.access(recordFile(root))).rejects.toThrow();
  });

  test('a record whose cluster has stopped is ignored', async () => {
    const stopped = await dataDirWith('stopped', 4_194_305, 54400);
    writeRecord(root, { dataDir: stopped, port: 54400 });
    expect(runningRecorded(root)).toBeNull();
    expect(locateEmbedded(root, path.join(root, '.data', 'postgres'), { dirFromEnv: false, port: undefined })).toMatchObject({ kind: 'start', port: 54329 });
  });
});
