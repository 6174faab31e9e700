// The append, as one Lua script: Redis runs it alone, so the check of `current`, the
// skip/gap decision, the writes and the trim see one state and no other writer between
// them. planAppend and keepFrom in entries.ts are the same rules in TypeScript.
import { createHash } from 'node:crypto';

// KEYS[1] the `current` pointer, KEYS[2] the stream.
// ARGV[1] maxLen ('' for none), ARGV[2] minAgeMs ('' for none), then seq, c for each change.
// Replies {'not-current', <current or ''>} | {'gap', <last seq>} | {'ok', appended, skipped}.
export const APPEND_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur ~= KEYS[2] then return {'not-current', cur or ''} end

local function seqOf(id) return tonumber(string.match(id, '^(%d+)%-0$')) end
local function seqAt(j) return tonumber(ARGV[2 * j + 1]) end

local last = nil
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if top[1] then last = seqOf(top[1][1]) end

local n = (#ARGV - 2) / 2
local i, skipped = 1, 0
while i <= n and last and seqAt(i) <= last do
  i, skipped = i + 1, skipped + 1
end
if i > n then return {'ok', 0, skipped} end
if last and seqAt(i) ~= last + 1 then return {'gap', last} end
-- Checked before the first write: a script that fails halfway keeps what it wrote.
for j = i + 1, n do
  if seqAt(j) ~= seqAt(j - 1) + 1 then
    return redis.error_reply('change log batch is not a dense run of seqs: ' .. ARGV[2 * j + 1] .. ' follows ' .. ARGV[2 * j - 1])
  end
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowText = string.format('%d', now)
for j = i, n do
  redis.call('XADD', KEYS[2], ARGV[2 * j + 1] .. '-0', 'c', ARGV[2 * j + 2], 't', nowText)
end
local newLast = seqAt(n)

local maxLen, minAge = tonumber(ARGV[1]), tonumber(ARGV[2])
if maxLen or minAge then
  local function timeOf(e)
    if not e then return nil end
    local f = e[2]
    for k = 1, #f, 2 do if f[k] == 't' then return tonumber(f[k + 1]) end end
    return nil
  end
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  local first = seqOf(oldest[1])
  local from = nil
  if maxLen then from = newLast - maxLen + 1 end
  if minAge then
    local cutoff, lo, hi = now - minAge, first, newLast
    local oldestAt = timeOf(oldest)
    -- The oldest entry still young (a stream younger than its retention, the usual case):
    -- nothing to trim by age, and no search, which would cost a read per halving.
    if not (oldestAt and oldestAt >= cutoff) then
      -- Append times rise with seq in one stream: the first young entry by binary search.
      lo = first + 1
      while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        local at = timeOf(redis.call('XRANGE', KEYS[2], string.format('%d-0', mid), string.format('%d-0', mid))[1])
        if at and at >= cutoff then hi = mid else lo = mid + 1 end
      end
    end
    if from then from = math.min(from, lo) else from = lo end
  end
  if from > newLast then from = newLast end
  if from > first then redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%d-0', from)) end
end
return {'ok', n - i + 1, skipped}
`;

export const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

export type AppendReply = { kind: 'ok'; appended: number; skipped: number } | { kind: 'gap'; gapAfter: number } | { kind: 'not-current'; current: string | null };

/** The script's reply as a value, or an error saying what came back instead. */
export function parseAppendReply(reply: unknown): AppendReply {
  if (Array.isArray(reply)) {
    const [tag, a, b] = reply as unknown[];
    if (tag === 'ok' && typeof a === 'number' && typeof b === 'number') return { kind: 'ok', appended: a, skipped: b };
    if (tag === 'gap' && typeof a === 'number') return { kind: 'gap', gapAfter: a };
    if (tag === 'not-current' && typeof a === 'string') return { kind: 'not-current', current: a === '' ? null : a };
  }
  throw new Error(`the change log's append script answered ${JSON.stringify(reply)}, which it never sends: is another script cached under its SHA1 ${APPEND_SHA}?`);
}
