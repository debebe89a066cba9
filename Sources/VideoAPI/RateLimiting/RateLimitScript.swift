/// `GCRA.decide` in Lua, run atomically by Redis so every API instance shares one budget. The
/// clock is Redis's (`TIME`), never an instance's, so instances with skewed clocks agree. The
/// TAT is stored as integer microseconds with a TTL of the time until the burst is full again
/// (an idle key disappears by itself).
///
/// KEYS[1] the partition's key; ARGV limit, period in microseconds.
/// Returns {allowed (0/1), remaining, retry_after_us, reset_after_us}.
enum RateLimitScript {
    /// The decision, line for line `GCRA.decide`. Lua numbers are doubles: exact for integers
    /// below 2^53 (microseconds since 1970 are about 2^51).
    static let decide = """
        local function decide(stored, now, limit, period)
          local interval = math.floor(period / limit)
          local tat = stored
          if tat == nil or tat < now then tat = now end
          local new_tat = tat + interval
          local allow_at = new_tat - limit * interval
          if now < allow_at then
            return 0, 0, allow_at - now, tat - now, nil
          end
          return 1, math.floor((now - allow_at) / interval), 0, new_tat - now, new_tat
        end

        """

    /// Applies a decision (a missing key is `false` in Lua, hence the nil): stores the new TAT (`%.0f`: Lua's tostring would round it to 14 digits).
    static let apply = """
        local key = KEYS[1]
        local stored = redis.call('GET', key)
        if stored then stored = tonumber(stored) else stored = nil end
        local allowed, remaining, retry_after, reset_after, new_tat = decide(stored, now, tonumber(ARGV[1]), tonumber(ARGV[2]))
        if new_tat then
          redis.call('SET', key, string.format('%.0f', new_tat), 'PX', math.max(ttl_floor, math.ceil((new_tat - now) / 1000)))
        end
        return {allowed, remaining, retry_after, reset_after}
        """

    /// What the API runs: the clock is Redis's.
    static let text = decide + """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local ttl_floor = 1

        """ + apply

    /// For tests only: the same decision with the clock given as ARGV[3], to compare Redis's
    /// results with `GCRA.decide` on the same inputs. The key lives an hour at least: its TTL
    /// runs on Redis's real clock, which does not follow the given one.
    static let withGivenClock = decide + """
        local now = tonumber(ARGV[3])
        local ttl_floor = 3600000

        """ + apply
}
