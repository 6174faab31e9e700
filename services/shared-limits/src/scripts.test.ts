import { expect, test } from 'vitest';
import { pairReply } from './scripts';

test.each([
  [[1, 2], [1, 2]],
  [[0, 0], [0, 0]],
])('pairReply(%j)', (reply, want) => {
  expect(pairReply(reply, 'lease')).toEqual(want);
});

test.each([[null], [[1]], [['1', 2]], [[1.5, 2]], ['OK']])('pairReply(%j) names the script it did not understand', (reply) => {
  expect(() => pairReply(reply, 'lease')).toThrow(/the lease script replied .*, not two integers/);
});
