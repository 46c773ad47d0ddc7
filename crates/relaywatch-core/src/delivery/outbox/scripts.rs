//! The outbox's Lua scripts (enqueue, claim, transition); rule: every change of an item's state
//! happens inside one script, so it is atomic, and every change that can make an item due sooner
//! publishes on `{p}outbox:wake`.

/// KEYS: dedup, seq, due. ARGV: prefix, channel, kind, key, payload, now, not_before, dedup_ttl_ms.
/// Queues a new item unless its idempotency key was queued before.
pub(super) const ENQUEUE: &str = r#"
local existing = redis.call('GET', KEYS[1])
if existing then return {0, tonumber(existing)} end
local id = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], id, 'PX', ARGV[8])
local item = ARGV[1] .. 'outbox:item:' .. id
redis.call('HSET', item, 'channel', ARGV[2], 'kind', ARGV[3], 'key', ARGV[4], 'payload', ARGV[5],
  'attempts', 0, 'created_ms', ARGV[6], 'next_at_ms', ARGV[7], 'state', 'due')
redis.call('ZADD', KEYS[3], ARGV[7], id)
redis.call('PUBLISH', ARGV[1] .. 'outbox:wake', ARGV[7])
return {1, id}
"#;

/// KEYS: due, claims, dead, fence. ARGV: prefix, now, lease_ms, limit, max_attempts, dead_cap,
/// dead_ttl_ms, failed_cap. Takes back items whose lease ran out (that counts as an attempt;
/// the last one dead-letters), then claims up to `limit` due items.
pub(super) const CLAIM: &str = r#"
local p = ARGV[1]
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local maxa = tonumber(ARGV[5])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  local item = p .. 'outbox:item:' .. id
  if redis.call('EXISTS', item) == 1 then
    local a = redis.call('HINCRBY', item, 'attempts', 1)
    local why = 'lease expired: the worker stopped during attempt ' .. a
    redis.call('HDEL', item, 'token')
    redis.call('HSET', item, 'last_error', why)
    if a >= maxa then
      local f = redis.call('HMGET', item, 'channel', 'kind', 'key')
      redis.call('HSET', item, 'state', 'dead')
      redis.call('LPUSH', KEYS[3], id)
      redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
      redis.call('PEXPIRE', item, ARGV[7])
      local hist = p .. 'history:' .. f[1] .. ':failed'
      redis.call('LPUSH', hist, cjson.encode({time_ms = now, id = tonumber(id), kind = f[2],
        key = f[3], attempt = a, result = 'dead', status = cjson.null, code = cjson.null,
        latency_ms = lease, reason = why}))
      redis.call('LTRIM', hist, 0, tonumber(ARGV[8]) - 1)
    else
      redis.call('HSET', item, 'next_at_ms', now, 'state', 'due')
      redis.call('ZADD', KEYS[1], now, id)
    end
  end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local item = p .. 'outbox:item:' .. id
  local f = redis.call('HMGET', item, 'channel', 'kind', 'key', 'payload', 'attempts', 'created_ms')
  if f[1] then
    local token = redis.call('INCR', KEYS[4])
    redis.call('HSET', item, 'token', token, 'state', 'claimed')
    redis.call('ZADD', KEYS[2], now + lease, id)
    table.insert(out, {id, token, now + lease, f[1], f[2], f[3], f[4], f[5], f[6]})
  end
end
return out
"#;

/// KEYS: item, claims, due, dead, history ok, history failed. ARGV: id, token, action, at,
/// record, last_error, ok_cap, failed_cap, dead_cap, dead_ttl_ms, wake channel. Applies one transition if
/// and only if the caller still holds the claim (its token is the item's current token).
pub(super) const TRANSITION: &str = r#"
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local action = ARGV[3]
if action == 'extend' then
  redis.call('ZADD', KEYS[2], 'XX', ARGV[4], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
if action == 'ok' then
  redis.call('DEL', KEYS[1])
  redis.call('LPUSH', KEYS[5], ARGV[5])
  redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[7]) - 1)
  return 1
end
redis.call('HDEL', KEYS[1], 'token')
if action == 'defer' then
  redis.call('HSET', KEYS[1], 'next_at_ms', ARGV[4], 'state', 'due')
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  redis.call('PUBLISH', ARGV[11], ARGV[4])
  return 1
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[6])
redis.call('LPUSH', KEYS[6], ARGV[5])
redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[8]) - 1)
if action == 'retry' then
  redis.call('HSET', KEYS[1], 'next_at_ms', ARGV[4], 'state', 'due')
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  redis.call('PUBLISH', ARGV[11], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'state', 'dead')
  redis.call('LPUSH', KEYS[4], ARGV[1])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[10])
end
return 1
"#;
