import { describe, expect, test } from 'vitest';
import type { Change } from '@realtime/protocol';
import * as ws from 'ws';

// ws's frame encoder: exported by the package, not by its types.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
import { changeJson, changesMessage, changesPacket, textFrameHeader } from './wire';

const c = (seq: number, over: Partial<Change> = {}): Change => ({ seq, op: 'UPDATE', row: { id: `r${seq}`, name: 'a "quoted" name\n' }, old: { id: `r${seq}` }, committedAt: '2026-11-27T10:00:00.000Z', ...over });

describe('changesPacket', () => {
  const cases: [string, string, string, Change[]][] = [
    ['one change', 's1a2b3c', 'projects', [c(1)]],
    ['several, in order', 's9', 'extraction_jobs', [c(4), c(5, { op: 'DELETE', row: null }), c(6, { op: 'INSERT', old: null })]],
    ['unicode and escapes in rows', 's1', 'data_layers', [c(7, { row: { id: 'x', name: 'é ✓ \u2028 \\ "' } })]],
    ['an empty batch', 's1', 'projects', []],
  ];
  for (const [name, sub, channel, changes] of cases) {
    test(`${name}: a Socket.IO EVENT packet that decodes to what emit would send`, () => {
      const packet = changesPacket(sub, channel, changes);
      expect(packet[0]).toBe('2');
      // What socket.io's emit encodes: JSON.stringify of the event and its payload.
      expect(packet.slice(1)).toBe(JSON.stringify(['changes', { sub, channel, changes }]));
    });
  }

  test('a change is serialized once, whatever the number of batches it is in', () => {
    const shared = c(9);
    const stringify = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof stringify>) => {
      calls++;
      return stringify(...args);
    }) as typeof JSON.stringify;
    try {
      for (let i = 0; i < 100; i++) changesPacket(`s${i}`, 'projects', [shared]);
    } finally {
      JSON.stringify = stringify;
    }
    // One for the change, two per packet for its sub and channel.
    expect(calls).toBe(1 + 200);
    expect(changeJson(shared)).toBe(stringify(shared));
  });
});

describe('textFrameHeader', () => {
  // Each length form of RFC 6455 (7 bits, 16 bits, 64 bits) and its edges.
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 1_000_000]) {
    test(`${length} bytes: the header ws makes for an unmasked final text frame`, () => {
      const [header] = Sender.frame(Buffer.alloc(length), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
      expect(textFrameHeader(length)).toEqual(header);
    });
  }
});

describe('changesMessage', () => {
  const pages: [string, Change[]][] = [
    ['a small page', [c(1), c(2, { op: 'DELETE', row: null })]],
    ['a page past 64 KB, with multibyte characters', Array.from({ length: 300 }, (_, i) => c(i + 1, { row: { id: `r${i}`, name: 'é✓'.repeat(100) } }))],
  ];
  for (const [name, changes] of pages) {
    test(`${name}: the frame carries exactly the Engine.IO message of the packet`, () => {
      const m = changesMessage('s1', 'extraction_jobs', changes);
      expect(m.packet).toBe(changesPacket('s1', 'extraction_jobs', changes));
      const frame = Buffer.concat(m.frame);
      const payload = `4${m.packet}`;
      const header = textFrameHeader(Buffer.byteLength(payload));
      expect(frame.subarray(0, header.length)).toEqual(header);
      expect(frame.subarray(header.length).toString()).toBe(payload);
    });
  }

  test('messages of the same changes share their encoded tail; other changes do not', () => {
    const changes = [c(1), c(2)];
    const a = changesMessage('s1', 'projects', changes);
    const b = changesMessage('s2', 'projects', [...changes]);
    expect(b.frame[1]).toBe(a.frame[1]);
    expect(b.frame[0]).not.toEqual(a.frame[0]);
    // The same first change, another page: its own tail, and the right one.
    const longer = changesMessage('s3', 'projects', [...changes, c(3)]);
    expect(longer.frame[1]).not.toBe(a.frame[1]);
    expect(longer.packet.slice(1)).toBe(JSON.stringify(['changes', { sub: 's3', channel: 'projects', changes: [...changes, c(3)] }]));
    const shorter = changesMessage('s4', 'projects', [changes[0]!]);
    expect(shorter.packet.slice(1)).toBe(JSON.stringify(['changes', { sub: 's4', channel: 'projects', changes: [changes[0]] }]));
  });
});
