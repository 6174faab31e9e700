// Sign-in and sign-out over the cache: `me` changes in place, everything else is gone.
import { expect, test } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import type { Me } from '@realtime/api/types';
import { meQuery, qk } from './qk';
import { forgetSession, signedIn, signedOut } from './session';

const me: Me = { user: { id: 'u1', email: 'a@example.com', name: 'A', operator: false }, memberships: [] };

test('signing out sets `me` to null in place; forgetting the session keeps only it', () => {
  const qc = new QueryClient();
  qc.setQueryData(meQuery.queryKey, me);
  qc.setQueryData(qk.projects.list(), { items: [] });
  qc.getMutationCache().build(qc, { mutationKey: ['x'] });
  const meBefore = qc.getQueryCache().find({ queryKey: meQuery.queryKey });
  signedOut(qc);
  expect(qc.getQueryData(meQuery.queryKey)).toBeNull();
  forgetSession(qc);
  expect(qc.getQueryCache().getAll()).toEqual([meBefore]);
  expect(qc.getMutationCache().getAll()).toEqual([]);
});

test('signing in forgets what the previous session cached and sets `me`', () => {
  const qc = new QueryClient();
  qc.setQueryData(meQuery.queryKey, null);
  qc.setQueryData(qk.projects.list(), { items: [] });
  signedIn(qc, me);
  expect(qc.getQueryData(meQuery.queryKey)).toEqual(me);
  expect(qc.getQueryCache().getAll().map((q) => q.queryKey)).toEqual([meQuery.queryKey]);
});
