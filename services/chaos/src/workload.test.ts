import { describe, expect, test } from 'vitest';
import { rng } from './rng';
import { chooseMemberOp, chooseOp, memberStatement, queueRowPrefix, rekeyable, statement, tables } from './workload';

describe('chooseOp', () => {
  test.each([
    { name: 'at the cap: delete only', count: 200, cap: 200, only: ['delete'] },
    { name: 'over the cap: delete only', count: 250, cap: 200, only: ['delete'] },
    { name: 'nearly empty: never delete', count: 10, cap: 200, only: ['insert', 'update', 'move'] },
    { name: 'in between: every operation', count: 100, cap: 200, only: ['insert', 'update', 'move', 'delete'] },
  ])('$name', ({ count, cap, only }) => {
    const r = rng(9);
    const seen = new Set(Array.from({ length: 500 }, () => chooseOp(r, count, cap)));
    expect([...seen].sort()).toEqual([...only].sort());
  });
});

describe('statement', () => {
  test('the queue clients\' rows are deleted, moved and rekeyed only now and then', () => {
    const r = rng(3);
    for (const op of ['delete', 'move', 'rekey'] as const) {
      const spared = Array.from({ length: 400 }, () => statement('data_layers', op, r, ['p1']).sql.includes(`NOT LIKE '${queueRowPrefix}%'`)).filter(Boolean).length;
      expect(spared, op).toBeGreaterThan(330);
      expect(spared, op).toBeLessThan(390);
    }
    expect(statement('supplier_matches', 'delete', r, ['p1']).sql).not.toContain(queueRowPrefix);
    expect(statement('data_layers', 'update', r, ['p1']).sql).not.toContain(queueRowPrefix);
  });

  test('every table and operation has a statement; pinned projects are never deleted', () => {
    const r = rng(1);
    for (const t of tables) {
      for (const op of ['insert', 'update', 'move', 'delete'] as const) {
        const { sql, params } = statement(t, op, r, ['p1']);
        expect(sql, `${t} ${op}`).toMatch(op === 'insert' ? /^INSERT INTO / : op === 'delete' ? /^DELETE FROM / : /^UPDATE /);
        expect(sql).toContain(t);
        if (t === 'projects' && op === 'delete') expect(params).toEqual([['p1']]);
      }
    }
  });
});

describe('rekey', () => {
  test('a primary key change is an UPDATE of id, on the tables no foreign key points at', () => {
    for (const t of rekeyable) expect(statement(t, 'rekey', rng(2), []).sql).toMatch(new RegExp(`^UPDATE ${t} SET id = gen_random_uuid\\(\\)`));
  });
});

describe('memberStatement', () => {
  const users = ['u1', 'u2'];
  const pinned = ['p1', 'p2'];
  test.each([
    { op: 'grant' as const, sql: /^INSERT INTO project_members .* ON CONFLICT \(project_id, user_id\) DO NOTHING$/ },
    { op: 'revoke' as const, sql: /^DELETE FROM project_members WHERE id = \(SELECT id FROM project_members WHERE user_id = ANY\(\$1::uuid\[\]\).* RETURNING user_id::text AS user_id, project_id::text AS project_id$/ },
    { op: 'role' as const, sql: /^UPDATE project_members SET role = \$2, .* AND role <> \$2$/ },
  ])('$op', ({ op, sql }) => {
    const r = rng(4);
    for (let i = 0; i < 50; i++) {
      const s = memberStatement(op, r, users, pinned);
      expect(s.sql).toMatch(sql);
      if (op === 'grant') {
        expect(users).toContain(s.params[0]);
        expect(['viewer', 'editor', 'owner']).toContain(s.params[1]);
        // A pinned project as a parameter, or any project the writers made.
        if (s.params.length === 3) expect(pinned).toContain(s.params[2]);
        else expect(s.sql).toContain('FROM projects ORDER BY random()');
      } else {
        // Only the run's own users' memberships are touched.
        expect(s.params[0]).toEqual(users);
      }
    }
  });

  test('grants outnumber revocations, role changes come too', () => {
    const r = rng(5);
    const counts = { grant: 0, revoke: 0, role: 0 };
    for (let i = 0; i < 600; i++) counts[chooseMemberOp(r)]++;
    expect(counts.grant).toBeGreaterThan(counts.revoke);
    expect(counts.role).toBeGreaterThan(0);
  });
});
