// The Redis side of cluster-wide rate limits: one Lua script that charges each key's
// token bucket with what the balancer's workers admitted since the last exchange, and
// answers, per key, how long it must wait for its next token (0: not over the limit).
// Redis's own clock (TIME) refills every bucket, so the balancers' clocks need not agree.
//
// A bucket is a hash { t: tokens in thousandths, ms: last update }. It may go below zero:
// the balancers admit before they hear of the limit, and that excess is owed, so the key
// stays blocked until it is paid back and the long-run rate is the configured one. The
// key expires once the bucket would be full again (nothing is lost by forgetting it then).
//
// KEYS[i]: one bucket. ARGV, three per key: requests admitted, rate in thousandths of a
// request per second, burst in requests.
export const takeTokensScript = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local waits = {}
for i = 1, #KEYS do
  local admitted = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local full = tonumber(ARGV[3 * i]) * 1000
  local tokens = full
  local state = redis.call('HMGET', KEYS[i], 't', 'ms')
  if state[1] and state[2] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    tokens = math.min(full, tonumber(state[1]) + elapsed * rate / 1000)
  end
  tokens = tokens - admitted * 1000
  redis.call('HSET', KEYS[i], 't', tokens, 'ms', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil((full - tokens) * 1000 / rate) + 1000)
  local wait = 0
  if tokens < 1000 then wait = math.ceil((1000 - tokens) * 1000 / rate) end
  waits[i] = wait
end
return waits
`;

/** Keys per script call: a call holds Redis for its whole length, so a large batch is split. */
export const keysPerCall = 256;
