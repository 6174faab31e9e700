import { describe, expect, test } from 'vitest';
import { TransactionAssembler, type OutboxMessage } from './transactions';

const outbox = { schema: 'public', name: 'change_outbox' };
const begin = (xid: number, t = 1000n): OutboxMessage => ({ tag: 'begin', xid, commitTime: t, commitLsn: '0/10' });
const insert = (id: number | string, relation = outbox): OutboxMessage => ({ tag: 'insert', relation, new: { id: String(id) } });
const commit = (end: string): OutboxMessage => ({ tag: 'commit', commitEndLsn: end, commitTime: 1000n });

const run = (size: number, msgs: OutboxMessage[]) => {
  const a = new TransactionAssembler(size);
  return msgs.flatMap((m) => a.push(m)).map((p) => ({ xid: p.xid, ids: p.ids, end: p.commitEnd }));
};

describe('TransactionAssembler', () => {
  test.each([
    ['one transaction', 10, [begin(1), insert(5), insert(6), commit('0/20')], [{ xid: 1, ids: [5, 6], end: '0/20' }]],
    [
      'two transactions keep commit order, not id order',
      10,
      [begin(2), insert(9), commit('0/30'), begin(1), insert(3), commit('0/40')],
      [
        { xid: 2, ids: [9], end: '0/30' },
        { xid: 1, ids: [3], end: '0/40' },
      ],
    ],
    [
      'a large transaction is split into pieces; only the last may be acknowledged',
      2,
      [begin(7), insert(1), insert(2), insert(3), insert(4), insert(5), commit('0/50')],
      [
        { xid: 7, ids: [1, 2], end: null },
        { xid: 7, ids: [3, 4], end: null },
        { xid: 7, ids: [5], end: '0/50' },
      ],
    ],
    ['an exact multiple ends with an empty final piece', 2, [begin(8), insert(1), insert(2), commit('0/60')], [
      { xid: 8, ids: [1, 2], end: null },
      { xid: 8, ids: [], end: '0/60' },
    ]],
    ['inserts into other tables are ignored', 10, [begin(3), insert(1, { schema: 'public', name: 'projects' }), insert(2), commit('0/70')], [
      { xid: 3, ids: [2], end: '0/70' },
    ]],
    ['relation and type messages pass through', 10, [{ tag: 'relation' }, begin(4), { tag: 'type' }, insert(1), commit('0/80')], [
      { xid: 4, ids: [1], end: '0/80' },
    ]],
  ] as const)('%s', (_name, size, msgs, expected) => {
    expect(run(size, [...msgs] as OutboxMessage[])).toEqual(expected);
  });

  test.each([
    ['COMMIT without BEGIN', [commit('0/1')], /COMMIT without BEGIN/],
    ['INSERT outside a transaction', [insert(1)], /INSERT outside a transaction/],
    ['nested BEGIN', [begin(1), begin(2)], /out of step/],
    ['an id that is not a number', [begin(1), insert('abc')], /without a usable id/],
  ] as const)('%s is refused', (_name, msgs, error) => {
    expect(() => run(10, [...msgs] as OutboxMessage[])).toThrow(error);
  });

  test.each([
    ['one piece is whole', 10, [begin(1), insert(5), insert(6), commit('0/20')], [true]],
    ['a split transaction has no whole piece, the last one included', 2, [begin(7), insert(1), insert(2), insert(3), commit('0/50')], [false, false]],
    ['an exact multiple: its empty last piece is not whole either', 2, [begin(8), insert(1), insert(2), commit('0/60')], [false, false]],
    ['each of two small transactions is whole', 2, [begin(1), insert(1), commit('0/1'), begin(2), insert(2), commit('0/2')], [true, true]],
  ] as const)('whole: %s', (_name, size, msgs, whole) => {
    const a = new TransactionAssembler(size);
    expect([...msgs].flatMap((m) => a.push(m as OutboxMessage)).map((p) => p.whole)).toEqual(whole);
  });

  test('pieces carry the rows as the publication sent them, one per id', () => {
    const a = new TransactionAssembler(10);
    const row = { id: '5', table_name: 'projects', op: 'INSERT' };
    const pieces = [begin(1), { tag: 'insert', relation: outbox, new: row } as OutboxMessage, insert(6), commit('0/1')].flatMap((m) => a.push(m));
    expect(pieces[0]!.rows).toEqual([row, { id: '6' }]);
    expect(pieces[0]!.ids).toEqual([5, 6]);
  });

  test('inTransaction is true only between BEGIN and COMMIT', () => {
    const a = new TransactionAssembler(10);
    expect(a.inTransaction).toBe(false);
    a.push(begin(1));
    expect(a.inTransaction).toBe(true);
    a.push(commit('0/1'));
    expect(a.inTransaction).toBe(false);
  });
});
