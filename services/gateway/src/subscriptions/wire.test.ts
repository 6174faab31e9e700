import { describe, expect, test } from 'vitest';
import type { Change } from '@realtime/protocol';
import { changeJson, changesPacket } from './wire';

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
