// The shared limits' Lua scripts: Redis runs each alone, so a count and the decision
// taken on it see one state, whichever process sends them.
import { createHash } from 'node:crypto';

/**
 * One more in a fixed window. KEYS[1] the counter; ARGV[1] the window (ms). The first
 * count starts the window (PEXPIRE); a counter that lost its expiry gets it back.
 * Replies {current, pttl}.
 */
export const COUNT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if current == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;

/**
 * A lease, taken when the set has room. KEYS[1] the lease set (a sorted set, members
 * scored by the time their lease lapses); ARGV[1] now (ms), ARGV[2] the lapse of this
 * lease, ARGV[3] the most leases the set may hold ('' for no bound), ARGV[4] the member.
 * Lapsed members go first; a member already there is renewed. The key itself lapses with
 * its last lease (PEXPIRE relative to `now`: the processes' clocks, not Redis's, say when). Replies {1 taken or 0 refused, leases held after}.
 */
export const LEASE_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZCARD', KEYS[1])
local mine = redis.call('ZSCORE', KEYS[1], ARGV[4])
if ARGV[3] ~= '' and not mine and held >= tonumber(ARGV[3]) then
  return {0, held}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - tonumber(ARGV[1])))
if mine then return {1, held} end
return {1, held + 1}
`;

export const COUNT_SHA = createHash('sha1').update(COUNT_SCRIPT).digest('hex');
export const LEASE_SHA = createHash('sha1').update(LEASE_SCRIPT).digest('hex');

/** The two numbers a script replies, checked: anything else is a script out of step with this code. */
export function pairReply(reply: unknown, script: string): [number, number] {
  if (Array.isArray(reply) && reply.length === 2 && reply.every((n) => typeof n === 'number' && Number.isSafeInteger(n))) return [reply[0] as number, reply[1] as number];
  throw new Error(`shared limits: the ${script} script replied ${JSON.stringify(reply)}, not two integers`);
}
