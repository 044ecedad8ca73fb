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
 * KEYS[1] the stream, KEYS[2] the hash of each instance's last shipped seq. ARGV: instance,
 * first seq, max length, oldest id to keep ('0': none), gap allowed ('1': the events before
 * first are gone from the replica's files), then the event lines. Exactly once and in order:
 * refused with {0, shipped} unless the stream has the instance up to first - 1 (or nothing of
 * it; or, with a gap allowed, up to less than first).
 */
export const SHIP_EVENTS = script(
  2,
  `
local shipped = redis.call('HGET', KEYS[2], ARGV[1])
local first = tonumber(ARGV[2])
if shipped then
  local s = tonumber(shipped)
  if s ~= first - 1 and not (ARGV[5] == '1' and s < first) then return {0, s} end
end
for i = 6, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'i', ARGV[1], 's', tostring(first + i - 6), 'e', ARGV[i])
end
if ARGV[4] ~= '0' then redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[4]) end
local last = first + #ARGV - 6
redis.call('HSET', KEYS[2], ARGV[1], tostring(last))
return {1, last}
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
export async function runScript(client: RedisClient, s: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, s.keys, ...keys, ...args);
  } catch (error) {
    if (!/NOSCRIPT/.test((error as Error).message)) throw error;
    return await client.eval(s.lua, s.keys, ...keys, ...args);
  }
}
