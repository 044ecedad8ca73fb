// The Lua scripts: what must be checked and written in one step on the Redis side. Each
// script's keys share one Cluster slot (one key, or keys with the same {hash tag}).
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.ts';

export interface Script {
  lua: string;
  sha: string;
  keys: number;
}

function script(keys: number, lua: string): Script {
  return { lua, keys, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * KEYS[1] change log (a list; record n is at position n). ARGV: expected seq, expected hash,
 * then the records. Appends only if the log still ends there; else returns {seq, hash} of its end.
 */
export const APPEND_CHANGES = script(
  1,
  `
local n = redis.call('LLEN', KEYS[1])
local hash = string.rep('0', 64)
if n > 0 then hash = cjson.decode(redis.call('LINDEX', KEYS[1], -1)).hash end
if tostring(n) ~= ARGV[1] or hash ~= ARGV[2] then return {n, hash} end
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
return 1
`,
);

/**
 * KEYS[1] the stream, KEYS[2] each instance's last shipped seq, KEYS[3] "<id> <events>" per
 * entry, KEYS[4] the events in the stream. ARGV: instance, first seq, last seq, gap ('1': any
 * first after the last shipped is taken), max events, oldest time to keep (ms, '0': none), the
 * event lines zstd-compressed. One entry per span: Redis stores the bytes, it does not look at each event (one
 * XADD per event, with a Lua loop over the lines, cost Redis ~10 us of CPU per event). Exactly
 * once and in order: refused with {0, shipped} unless the span starts right after the last
 * shipped. Then the oldest entries go while the stream holds more than max events or they are
 * older than the time given (never the entry just added).
 */
export const SHIP_EVENTS = script(
  4,
  `
local shipped = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
local first, last = tonumber(ARGV[2]), tonumber(ARGV[3])
if shipped >= 0 and first ~= shipped + 1 and not (ARGV[4] == '1' and first > shipped) then return {0, shipped} end
local n = last - first + 1
local id = redis.call('XADD', KEYS[1], '*', 'i', ARGV[1], 'f', ARGV[2], 'l', ARGV[3], 'z', ARGV[7])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('RPUSH', KEYS[3], id .. ' ' .. n)
local total = redis.call('INCRBY', KEYS[4], n)
local max, cutoff = tonumber(ARGV[5]), tonumber(ARGV[6])
while redis.call('LLEN', KEYS[3]) > 1 do
  local oldest = redis.call('LINDEX', KEYS[3], 0)
  local space = string.find(oldest, ' ', 1, true)
  local oid = string.sub(oldest, 1, space - 1)
  local ms = tonumber(string.sub(oid, 1, string.find(oid, '-', 1, true) - 1))
  if total <= max and (cutoff == 0 or ms >= cutoff) then break end
  redis.call('XDEL', KEYS[1], oid)
  redis.call('LPOP', KEYS[3])
  total = redis.call('DECRBY', KEYS[4], tonumber(string.sub(oldest, space + 1)))
end
return {1, last, n}
`,
);

/** KEYS[1] a shared source. ARGV: its new meta. Sets it only where a body is: 1, else 0. */
export const PUT_SOURCE_META = script(
  1,
  `
if redis.call('HEXISTS', KEYS[1], 'body') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'meta', ARGV[1])
return 1
`,
);

/** KEYS[1] the lease. ARGV: holder, ttl ms. Takes a free lease or extends one's own: 1, else 0. */
export const ACQUIRE_LEASE = script(
  1,
  `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`,
);

/** KEYS[1] the lease. ARGV: holder. Deletes it only if the holder still holds it. */
export const RELEASE_LEASE = script(
  1,
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`,
);

/** Runs a script by its SHA-1, loading it on the first NOSCRIPT. */
export async function runScript(client: RedisClient, s: Script, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, s.keys, ...keys, ...args);
  } catch (error) {
    if (!/NOSCRIPT/.test((error as Error).message)) throw error;
    return await client.eval(s.lua, s.keys, ...keys, ...args);
  }
}
