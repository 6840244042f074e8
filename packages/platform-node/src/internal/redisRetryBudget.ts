import { RetryBudget } from "@effect-backoff/core"
import { Clock, Duration, Effect, Layer, Metric } from "effect"
import type { Scope } from "effect"
import type { Redis, RedisOptions } from "ioredis"
import { createHash } from "node:crypto"
import { describe, invalid, isClient, makeClient, millisOption, redisOption } from "./redisClient.js"

/** @internal Switches to the local fallback budget (one per outage seen by a process). */
export const fallbacks = Metric.counter("backoff_budget_store_fallbacks_total", {
  description: "Times a shared retry budget fell back to a local one because its store did not answer",
  incremental: true
})

/** @internal Withdrawals decided by the local fallback budget while the store was away. */
export const fallbackWithdrawals = Metric.counter("backoff_budget_store_fallback_withdrawals_total", {
  description: "Withdrawals a shared retry budget decided locally because its store did not answer",
  incremental: true
})

/**
 * @internal The budget over time buckets, atomic on the server: the same arithmetic as
 * core's in-memory ledger (deposit ring of N buckets, withdrawal ring of N + 1, running
 * sums), one hash per budget key.
 *
 * KEYS[1] the hash. ARGV: now (ms), runs to deposit, their stamp (ms), withdraw (0/1),
 * deposit units per run, reserve units, units per withdrawal, bucket width (ms), N, ttl (ms).
 * Returns { granted (0/1), balance units after }.
 */
export const SCRIPT = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local runs = tonumber(ARGV[2])
local stamp = tonumber(ARGV[3])
local withdraw = tonumber(ARGV[4])
local dep = tonumber(ARGV[5])
local reserve = tonumber(ARGV[6])
local unit = tonumber(ARGV[7])
local width = tonumber(ARGV[8])
local n = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])
local k = math.floor(now / width)
local state = redis.call('HMGET', key, 'b', 'ds', 'ws')
local cur = tonumber(state[1])
local ds = tonumber(state[2]) or 0
local ws = tonumber(state[3]) or 0
if cur == nil or k - cur > n then
  redis.call('DEL', key)
  ds = 0
  ws = 0
  cur = k
elseif k > cur then
  for b = cur + 1, k do
    local di = 'd' .. (b % n)
    ds = ds - (tonumber(redis.call('HGET', key, di)) or 0)
    redis.call('HDEL', key, di)
    local wi = 'w' .. (b % (n + 1))
    ws = ws - (tonumber(redis.call('HGET', key, wi)) or 0)
    redis.call('HDEL', key, wi)
  end
  cur = k
end
if runs > 0 then
  local ks = math.floor(stamp / width)
  if ks > cur then ks = cur end
  if ks > cur - n then
    local units = runs * dep
    redis.call('HINCRBY', key, 'd' .. (ks % n), string.format('%d', units))
    ds = ds + units
  end
end
local granted = 0
if withdraw == 1 and ds + reserve - ws >= unit then
  redis.call('HINCRBY', key, 'w' .. (cur % (n + 1)), string.format('%d', unit))
  ws = ws + unit
  granted = 1
end
redis.call('HSET', key, 'b', string.format('%d', cur), 'ds', string.format('%d', ds), 'ws', string.format('%d', ws))
redis.call('PEXPIRE', key, math.ceil(ttl * 2 + 1000))
return { granted, string.format('%d', ds + reserve - ws) }
`

const KEYS = ["redis", "key", "timeout", "flushInterval"]

/** @internal Options of `RedisRetryBudget.layer`, as the implementation reads them. */
export interface Options extends RetryBudget.Options {
  readonly redis: Redis | RedisOptions | string
  readonly key: string
  readonly timeout?: Duration.DurationInput | undefined
  readonly flushInterval?: Duration.DurationInput | undefined
}

/** @internal Validated options. */
export interface Resolved {
  readonly settings: RetryBudget.Resolved
  readonly redis: Redis | RedisOptions | string
  readonly key: string
  readonly timeoutMillis: number
  readonly flushMillis: number
}

/** @internal */
export const resolve = (options: unknown): Resolved => {
  if (typeof options !== "object" || options === null) throw invalid("options", options, "an object with redis and key")
  const o = options as Record<string, unknown>
  const settings = RetryBudget.resolve(o as RetryBudget.Options, KEYS)
  if (typeof o.key !== "string" || o.key === "") {
    throw invalid("key", o.key, "a non-empty string (the Redis key of the budget)")
  }
  const redis = redisOption(o.redis)
  return {
    settings,
    redis,
    key: o.key,
    timeoutMillis: millisOption("timeout", o.timeout, 100, 1),
    flushMillis: Math.min(millisOption("flushInterval", o.flushInterval, 100, 1), 100)
  }
}

/** Effect's default Clock service (not the fiber's): for timeouts of real I/O only. */
const ioClock = Clock.make()

// the Clock's milliseconds (epoch-based on Effect's default Clock): one time for the fleet
const budgetMillis = (clock: Clock.Clock): number => clock.unsafeCurrentTimeMillis()

/**
 * @internal The shared budget's state in one process: deposits counted locally (and fed
 * to a local budget, which takes over when the store is away), flushed in batches.
 */
class Shared {
  /** Runs not yet sent to Redis, and the time of the first of them. */
  pending = 0
  stamp = 0
  /** The store did not answer: decisions are local until it does. */
  away = false
  closed = false

  constructor(
    readonly client: Redis,
    readonly resolved: Resolved,
    readonly local: RetryBudget.RetryBudget
  ) {}

  /** One script call: sends the pending runs (and a withdrawal); the reply, or a failure. */
  call(now: number, withdraw: boolean): Effect.Effect<boolean, unknown> {
    const s = this.resolved.settings
    const runs = this.pending
    const stamp = this.stamp
    this.pending = 0
    const args = [
      String(now),
      String(runs),
      String(stamp),
      withdraw ? "1" : "0",
      String(s.depositUnits),
      String(s.reserveUnits),
      String(s.withdrawUnits),
      String(s.bucketMillis),
      String(s.buckets),
      String(s.ttlMillis)
    ]
    const client = this.client
    const key = this.resolved.key
    return Effect.tryPromise({
      try: () =>
        (client.evalsha(SHA, 1, key, ...args) as Promise<[number, string]>).catch((e: unknown) => {
          if (describe(e).includes("NOSCRIPT")) return client.eval(SCRIPT, 1, key, ...args) as Promise<[number, string]>
          throw e
        }),
      catch: (e) => e
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(this.resolved.timeoutMillis),
        onTimeout: () => new Error(`no answer within ${this.resolved.timeoutMillis} ms`)
      }),
      // the timeout bounds real I/O: it runs on Effect's default Clock, so a virtual clock
      // (a TestClock, Timeline's) neither fires it at once nor holds it forever
      Effect.withClock(ioClock),
      Effect.map((reply) => Number(reply[0]) === 1),
      Effect.tapError(() =>
        Effect.sync(() => {
          // not delivered: the runs go back into the batch with their (earlier) stamp; the
          // script drops any that have expired by the time the store answers
          if (runs > 0) {
            this.pending += runs
            this.stamp = stamp
          }
        })
      )
    )
  }

  goAway(error: unknown): Effect.Effect<void> {
    if (this.away || this.closed) return Effect.void
    this.away = true
    return Effect.zipRight(
      Metric.increment(fallbacks),
      Effect.logWarning(
        `RedisRetryBudget ${this.resolved.key}: Redis did not answer (${
          describe(error)
        }); using a local budget until it does`
      )
    )
  }

  comeBack(): Effect.Effect<void> {
    if (!this.away) return Effect.void
    this.away = false
    return Effect.logInfo(`RedisRetryBudget ${this.resolved.key}: Redis answers again; back to the shared budget`)
  }
}

/** The script's SHA-1, for EVALSHA. */
const SHA = createHash("sha1").update(SCRIPT).digest("hex")

/** @internal `RedisRetryBudget.make`: a scoped budget. */
export const make = (options: unknown): Effect.Effect<RetryBudget.RetryBudget, never, Scope.Scope> => {
  const resolved = resolve(options)
  return Effect.gen(function*() {
    const owned = !isClient(resolved.redis)
    const client = owned
      ? yield* Effect.acquireRelease(
        Effect.sync(() => makeClient(resolved.redis)),
        (c) =>
          Effect.promise(() =>
            c.quit().then(
              () => undefined,
              () => undefined
            )
          ).pipe(
            Effect.timeout("200 millis"),
            Effect.ignore,
            Effect.ensuring(Effect.sync(() => c.disconnect()))
          )
      )
      : resolved.redis as Redis
    if (owned) {
      // a server that is down at start is not an error: after at most 2 s of waiting for
      // the connection, the budget starts locally and moves to Redis when it answers
      yield* Effect.promise(() => client.connect().catch(() => undefined)).pipe(
        Effect.timeout(Duration.millis(Math.max(resolved.timeoutMillis, 2000))),
        Effect.ignore
      )
    }
    const local = yield* RetryBudget.make({
      percentCanRetry: resolved.settings.percentCanRetry,
      ttl: resolved.settings.ttl,
      minRetriesPerSecond: resolved.settings.minRetriesPerSecond
    })
    const shared = new Shared(client, resolved, local)

    const flush = Effect.clockWith((clock) => {
      if (shared.pending === 0 && !shared.away) return Effect.void
      return shared.call(budgetMillis(clock), false).pipe(
        Effect.matchEffect({
          onFailure: (e) => shared.goAway(e),
          onSuccess: () => shared.comeBack()
        })
      )
    })
    yield* Effect.sleep(Duration.millis(resolved.flushMillis)).pipe(
      Effect.zipRight(flush),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        shared.closed = true
        // one last flush of what was counted, bounded by the timeout; never an error
        return shared.pending > 0 && !shared.away
          ? Effect.ignore(Effect.clockWith((clock) => shared.call(budgetMillis(clock), false)))
          : Effect.void
      })
    )

    // every deposit also feeds the local budget, which decides while Redis is away
    const localDeposit =
      (local as RetryBudget.RetryBudget & Partial<RetryBudget.UnsafeDepositing>)[RetryBudget.UnsafeDeposit]!
    const unsafeDeposit = (clock: Clock.Clock) => {
      const now = budgetMillis(clock)
      if (shared.pending === 0) shared.stamp = now
      shared.pending++
      localDeposit(clock)
    }
    const budget: RetryBudget.RetryBudget & RetryBudget.UnsafeDepositing = {
      [RetryBudget.TypeId]: RetryBudget.TypeId,
      [RetryBudget.UnsafeDeposit]: unsafeDeposit,
      deposit: Effect.clockWith((clock) => {
        unsafeDeposit(clock)
        return Effect.void
      }),
      tryWithdraw: Effect.clockWith((clock) => {
        if (shared.away) return Effect.zipLeft(local.tryWithdraw, Metric.increment(fallbackWithdrawals))
        return shared.call(budgetMillis(clock), true).pipe(
          Effect.tap((granted) => granted ? Effect.asVoid(local.tryWithdraw) : Effect.void),
          Effect.catchAll((e) =>
            Effect.zipRight(shared.goAway(e), Effect.zipLeft(local.tryWithdraw, Metric.increment(fallbackWithdrawals)))
          )
        )
      })
    }
    return budget
  })
}

/** @internal */
export const layer = (options: unknown): Layer.Layer<RetryBudget.RetryBudget> =>
  Layer.scoped(RetryBudget.RetryBudget, make(options))
