/**
 * The Redis store's Lua scripts: each check-and-set is one atomic step. They mirror
 * `MemoryStore` line for line (the contract suite runs both). Time comes from the caller (the
 * instances' wall clocks), so tests can drive it.
 *
 * Keys of one worker (all in one hash slot, `{prefix}`): slots (zset lease -> expiry), win (zset
 * lease -> admitted at), wtok (hash lease -> tokens), wsum (tokens in the window), circuit
 * (hash state, until, trial, failures), cool (hash until, reason), stats (hash). One more key
 * of the prefix, `wanted`, holds until when some instance waits for a slot: a release publishes
 * its news only until then (a publish is sent to every instance, so news nobody waits for would
 * cost each of N instances a message per release of any of them).
 * @internal
 */

import { WANTED_MS, WINDOW_MS } from './store.js';

/** Keys per candidate, in this order. */
export const WORKER_KEYS = ['slots', 'win', 'wtok', 'wsum', 'circuit', 'cool', 'stats'] as const;

const COMMON = `
local WINDOW = ${WINDOW_MS}
local WANTED_MS = ${WANTED_MS}
local function num(v, d) if v then return tonumber(v) else return d end end
`;

/**
 * KEYS: each candidate's 7 keys, then `wanted`. ARGV: now, lease id, lease expiry, tokens, n,
 * waits 0/1, then per candidate maxConcurrent, rpm, tpm (-1: unlimited). A request that waits,
 * refused as full, sets `wanted` to now + WANTED_MS (its instance asks again at least every 250
 * ms while it waits, renewing it). Returns { index admitted (0: none), trial 0/1, full 0/1,
 * retry in ms ('' if unknown), held { {index, kind, ms left, reason}... } }.
 */
const ADMIT_FN = `
local function admit(KEYS, ARGV)
local now, id, expiry, tokens, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local held, full, retryAt = {}, 0, nil
for i = 1, n do
  local k, a = (i - 1) * 7, 6 + (i - 1) * 3
  local slots, win, wtok, wsum, circ, cool, stats = KEYS[k+1], KEYS[k+2], KEYS[k+3], KEYS[k+4], KEYS[k+5], KEYS[k+6], KEYS[k+7]
  local maxc, rpm, tpm = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  local gate = 'pass'
  local cu = num(redis.call('HGET', cool, 'until'), 0)
  if cu > now then
    held[#held+1] = {i, 'cooling', tostring(cu - now), redis.call('HGET', cool, 'reason') or ''}
    gate = 'held'
  else
    local c = redis.call('HMGET', circ, 'state', 'until', 'trial')
    local st, cuntil = c[1] or 'closed', num(c[2], 0)
    if st == 'open' and cuntil > now then
      held[#held+1] = {i, 'open', tostring(cuntil - now), ''}
      gate = 'held'
    elseif st ~= 'closed' then
      local t = (st == 'half_open') and c[3] or false
      if t and num(redis.call('ZSCORE', slots, t), 0) > now then
        held[#held+1] = {i, 'trial', '0', ''}
        gate = 'held'
      else
        gate = 'trial'
      end
    end
  end
  local room = (gate ~= 'held')
  if room and maxc >= 0 then
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    if redis.call('ZCARD', slots) >= maxc then room = false; full = 1 end
  end
  local windowed = rpm >= 0 or tpm >= 0
  if room and windowed then
    local old = redis.call('ZRANGEBYSCORE', win, '-inf', now - WINDOW, 'LIMIT', 0, 1000)
    if #old > 0 then
      local sum = 0
      for _, v in ipairs(redis.call('HMGET', wtok, unpack(old))) do sum = sum + num(v, 0) end
      redis.call('DECRBY', wsum, sum)
      redis.call('HDEL', wtok, unpack(old))
      redis.call('ZREM', win, unpack(old))
    end
    local count, used = redis.call('ZCARD', win), num(redis.call('GET', wsum), 0)
    if (rpm >= 0 and count >= rpm) or (tpm >= 0 and used + tokens > tpm and used > 0) then
      room = false; full = 1
      local first = redis.call('ZRANGE', win, 0, 0, 'WITHSCORES')
      if first[2] then
        local at = tonumber(first[2]) + WINDOW
        if retryAt == nil or at < retryAt then retryAt = at end
      end
    end
  end
  if room then
    redis.call('ZADD', slots, expiry, id)
    if windowed then
      redis.call('ZADD', win, now, id)
      redis.call('HSET', wtok, id, tokens)
      redis.call('INCRBY', wsum, tokens)
    end
    if gate == 'trial' then redis.call('HSET', circ, 'state', 'half_open', 'trial', id) end
    redis.call('HINCRBY', stats, 'requests', 1)
    return {i, gate == 'trial' and 1 or 0, 0, '', held}
  end
end
if full == 1 and ARGV[6] == '1' then redis.call('SET', KEYS[n * 7 + 1], now + WANTED_MS) end
return {0, 0, full, retryAt and tostring(retryAt - now) or '', held}
end
`;

/** One admission (see `admit` above). */
export const ADMIT = `${COMMON}${ADMIT_FN}return admit(KEYS, ARGV)
`;

/** KEYS: one worker's 7 keys. ARGV: lease id, lease expiry, tokens, admitted at, windowed 0/1. A lease whatever the limit. */
export const CLAIM = `
local slots, win, wtok, wsum, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[7]
local id, expiry, tokens, at, windowed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZADD', slots, expiry, id)
if windowed == '1' then
  redis.call('ZADD', win, at, id)
  redis.call('HSET', wtok, id, tokens)
  redis.call('INCRBY', wsum, tokens)
end
redis.call('HINCRBY', stats, 'requests', 1)
return 1
`;

/**
 * KEYS: one worker's 7 keys, then `wanted`. ARGV: now, lease id, kind, tokens (-1: none), error
 * label, restMs, reason, failureThreshold, resetMs, channel, worker. Returns { circuit state,
 * failures }. The freed slot is published only while some instance waits.
 */
const RELEASE_FN = `
local function release(KEYS, ARGV)
local slots, win, wtok, wsum, circ, cool, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, id, kind, tokens = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local label, restMs, reason, threshold, resetMs = ARGV[5], tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local had = redis.call('ZREM', slots, id) == 1
if kind == 'unused' then
  if had then
    local est = redis.call('HGET', wtok, id)
    if est then
      redis.call('DECRBY', wsum, tonumber(est))
      redis.call('HDEL', wtok, id)
      redis.call('ZREM', win, id)
    end
    redis.call('HINCRBY', stats, 'requests', -1)
  end
elseif tokens >= 0 then
  local est = redis.call('HGET', wtok, id)
  if est then
    redis.call('INCRBY', wsum, tokens - tonumber(est))
    redis.call('HSET', wtok, id, tokens)
  end
  if had then redis.call('HINCRBY', stats, 'tokens', tokens) end
end
local function rest(untilMs)
  if num(redis.call('HGET', cool, 'until'), 0) < untilMs then redis.call('HSET', cool, 'until', untilMs, 'reason', reason) end
end
local function open()
  if redis.call('HGET', circ, 'state') ~= 'open' then redis.call('HSET', circ, 'state', 'open', 'until', now + resetMs) end
end
if had and kind == 'success' then
  redis.call('HINCRBY', stats, 'successes', 1)
  redis.call('DEL', circ) -- closed, no failures, no trial
elseif had then
  local wasTrial = redis.call('HGET', circ, 'trial') == id
  if wasTrial then redis.call('HDEL', circ, 'trial') end
  if kind == 'rate_limited' then
    redis.call('HINCRBY', stats, 'failures:rate_limited', 1)
    rest(now + restMs)
  elseif kind == 'disabled' then
    redis.call('HINCRBY', stats, 'failures:' .. label, 1)
    rest(now + restMs)
    redis.call('HINCRBY', circ, 'failures', 1)
    open()
  elseif kind == 'failure' then
    redis.call('HINCRBY', stats, 'failures:' .. label, 1)
    local f = redis.call('HINCRBY', circ, 'failures', 1)
    if wasTrial or f >= threshold then open() end
  end
end
if had and num(redis.call('GET', KEYS[8]), 0) > now then redis.call('PUBLISH', ARGV[10], ARGV[11]) end
if had and kind == 'success' then return {'closed', 0} end
local c = redis.call('HMGET', circ, 'state', 'failures')
return {c[1] or 'closed', num(c[2], 0)}
end
`;

/** One release (see `release` above). */
export const RELEASE = `${COMMON}${RELEASE_FN}return release(KEYS, ARGV)
`;

/**
 * Admissions and releases of one instance in one call (those asked together), each as
 * ADMIT or RELEASE would run it, in order. KEYS: each operation's keys, one after the other.
 * ARGV: the number of operations, then for each its kind (`a` or `r`), its number of keys and of
 * arguments, then its arguments. Returns each operation's answer, in order.
 */
export const BATCH = `${COMMON}${ADMIT_FN}${RELEASE_FN}
local out, ki, ai = {}, 0, 2
for op = 1, tonumber(ARGV[1]) do
  local kind, nk, na = ARGV[ai], tonumber(ARGV[ai + 1]), tonumber(ARGV[ai + 2])
  ai = ai + 3
  local k, a = {}, {}
  for i = 1, nk do k[i] = KEYS[ki + i] end
  for i = 1, na do a[i] = ARGV[ai + i - 1] end
  ki, ai = ki + nk, ai + na
  if kind == 'a' then out[op] = admit(k, a) else out[op] = release(k, a) end
end
return out
`;

/** KEYS: cool. ARGV: until, reason. */
export const REST = `
local u = redis.call('HGET', KEYS[1], 'until')
if (not u) or tonumber(u) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2]) end
return 1
`;

/**
 * KEYS: config. ARGV: fingerprint (JSON), ttl ms. Stores it when none is known (or it expired)
 * and answers ''; renews it when equal; else answers the stored one.
 */
export const ANNOUNCE = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ''
end
return cur
`;

/**
 * Keeps a response-cache entry: KEYS[1] the entry, KEYS[2] the index (a zset of entry keys by
 * time); ARGV: value, ttl ms, now, max entries. Expired index members go, then the oldest beyond
 * the bound (their entries deleted with them).
 */
export const CACHE_SET = `
local key, index = KEYS[1], KEYS[2]
local ttl, now, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('SET', key, ARGV[1], 'PX', ttl)
redis.call('ZADD', index, now, key)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now - ttl)
local over = redis.call('ZCARD', index) - max
if over > 0 then
  local old = redis.call('ZRANGE', index, 0, over - 1)
  redis.call('ZREMRANGEBYRANK', index, 0, over - 1)
  for _, k in ipairs(old) do redis.call('DEL', k) end
end
return 1
`;
