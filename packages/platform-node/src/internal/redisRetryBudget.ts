import { RetryBudget } from "@effect-backoff/core"
import { Clock, Duration, Effect, Layer, Metric } from "effect"
import type { Scope } from "effect"
import type { Redis, RedisOptions } from "ioredis"
import { createHash, randomUUID } from "node:crypto"
import { close, invalid, isClient, makeClient, millisOption, redisOption } from "./redisClient.js"

/** @internal Switches to the local fallback budget (one per outage seen by a process). */
export const fallbacks = Metric.counter("backoff_budget_store_fallbacks_total", {
  description: "Times a shared retry budget fell back to a local one because its store was unreachable",
  incremental: true
})

/** @internal Withdrawals decided by the local fallback budget while the store was away. */
export const fallbackWithdrawals = Metric.counter("backoff_budget_store_fallback_withdrawals_total", {
  description: "Withdrawals a shared retry budget decided locally because its store was unreachable",
  incremental: true
})

/**
 * @internal The budget over time buckets, atomic on the server: the same arithmetic as
 * core's in-memory ledger (deposit ring of N buckets, withdrawal ring of N + 1, running
 * sums), one hash per budget key.
 *
 * Time is the server's (`TIME`): one clock for the whole fleet, so no client's clock skew
 * stretches or cuts the window. Each call carries a batch id, remembered for twice the ttl
 * (KEYS[2], `SET NX`, in KEYS[1]'s hash slot): a call applied once is never applied again, whoever sends it again
 * (a client replaying its queue after a reconnect, or this module resending a batch whose
 * fate it could not know).
 *
 * KEYS[1] the hash, KEYS[2] the batch id's key. ARGV: runs to deposit, their age (ms, by
 * the process's monotonic clock), withdraw (0/1), withdrawals already decided locally (counted
 * as they are), deposit units per run, reserve units, units per withdrawal, bucket width (ms),
 * N, ttl (ms). Returns { granted (0/1, -1: this batch was applied before), balance units after }.
 */
export const SCRIPT = `
local key = KEYS[1]
local runs = tonumber(ARGV[1])
local age = tonumber(ARGV[2])
local withdraw = tonumber(ARGV[3])
local owed = tonumber(ARGV[4])
local dep = tonumber(ARGV[5])
local reserve = tonumber(ARGV[6])
local unit = tonumber(ARGV[7])
local width = tonumber(ARGV[8])
local n = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])
local life = math.ceil(ttl * 2 + 1000)
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', life) then
  return { -1, '0' }
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local k = math.floor(now / width)
local state = redis.call('HMGET', key, 'b', 'ds', 'ws')
local cur = tonumber(state[1])
local ds = tonumber(state[2]) or 0
local ws = tonumber(state[3]) or 0
if cur == nil or k - cur > n or k < cur - n then
  redis.call('DEL', key)
  ds = 0
  ws = 0
  cur = k
elseif k > cur then
  for step = 1, k - cur do
    local b = cur + step
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
  local ks = math.floor((now - age) / width)
  if ks > cur then ks = cur end
  if ks > cur - n then
    local units = runs * dep
    redis.call('HINCRBY', key, 'd' .. (ks % n), string.format('%d', units))
    ds = ds + units
  end
end
if owed > 0 then
  redis.call('HINCRBY', key, 'w' .. (cur % (n + 1)), string.format('%d', owed * unit))
  ws = ws + owed * unit
end
local granted = 0
if withdraw == 1 and ds + reserve - ws >= unit then
  redis.call('HINCRBY', key, 'w' .. (cur % (n + 1)), string.format('%d', unit))
  ws = ws + unit
  granted = 1
end
redis.call('HSET', key, 'b', string.format('%d', cur), 'ds', string.format('%d', ds), 'ws', string.format('%d', ws))
redis.call('PEXPIRE', key, life)
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

/** The process's monotonic milliseconds: the ages of batches and the fallback's window. */
const monotonicMillis = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos()) / 1e6

/** Redis cannot take a command now (not connected): nothing was sent. */
class Unreachable {
  constructor(readonly status: string) {}
}

/** A call that got no answer within the timeout (it may still be applied later). */
class NoAnswer {
  constructor(readonly millis: number) {}
}

/** Why the store is away, in our words (never a client library's internals). */
const why = (e: unknown): string => {
  if (e instanceof Unreachable) return `not connected: ${e.status}`
  if (e instanceof NoAnswer) return `no answer within ${e.millis} ms`
  const message = e instanceof Error ? e.message : String(e)
  // a reply from the server (ERR, READONLY, ...) is worth quoting; a client's state is not
  if (e instanceof Error && e.name === "ReplyError") return `it replied ${message}`
  return "the connection failed"
}

/** One call's deposits and locally decided withdrawals, under one batch id. */
interface Batch {
  readonly id: string
  readonly runs: number
  /** Monotonic time of the first of the runs. */
  readonly first: number
  readonly owed: number
}

/**
 * While the store is away the process decides alone, on what it saw since: a fresh local
 * budget fed with the runs since then, and a reserve that builds up at
 * `minRetriesPerSecond` from then (the full reserve after one ttl). A short stall thus
 * adds at most `minRetriesPerSecond × its length` per process, not a whole reserve; the
 * withdrawals decided here are sent to Redis once it answers, so the shared budget counts them.
 */
interface Fallback {
  readonly budget: RetryBudget.RetryBudget
  readonly deposit: (clock: Clock.Clock) => void
  readonly since: number
  runs: number
  withdrawn: number
}

/** Batches whose fate is unknown, kept to be sent again under their id (the oldest dropped past this). */
const MAX_RESEND = 64

/** The script's SHA-1, for EVALSHA. */
const SHA = createHash("sha1").update(SCRIPT).digest("hex")

/**
 * @internal The shared budget's state in one process: deposits counted locally, flushed in
 * batches; at most one flush in flight; a local fallback while the store is away.
 */
class Shared {
  /** Runs not yet sent, and the monotonic time of the first of them. */
  pending = 0
  first = 0
  /** Withdrawals decided locally, not yet sent. */
  owed = 0
  resend: Array<Batch> = []
  /** Runs sent and not yet known to be applied (in flight, or kept to be sent again). */
  unconfirmed = 0
  /** A flush was sent and has not settled (answered or failed): no other flush until it has. */
  flushing = false
  away: Fallback | undefined = undefined
  closed = false
  private seq = 0
  private readonly prefix = randomUUID()

  /** The batch ids' keys: in the budget key's hash slot (a Redis Cluster takes both keys in one script). */
  private readonly batchPrefix: string

  constructor(readonly client: Redis, readonly resolved: Resolved) {
    const key = resolved.key
    this.batchPrefix = /\{[^}]+\}/.test(key) ? `${key}:batch:` : `{${key}}:batch:`
  }

  /** The client's state when it cannot take a command now, else undefined. */
  private unready(): string | undefined {
    const status = this.client.status
    if (status === "ready") return undefined
    // a lazy client of the caller's that was never connected: connect it, for the next call
    if (status === "wait") this.client.connect().catch(() => {})
    return status
  }

  private take(): Batch {
    const batch = { id: `${this.prefix}:${++this.seq}`, runs: this.pending, first: this.first, owed: this.owed }
    this.pending = 0
    this.owed = 0
    return batch
  }

  /**
   * One script call: a batch (the pending runs and local withdrawals, or a batch to send
   * again) and maybe a withdrawal. Only sent when the client is connected, so no client
   * queues it offline. Its batch is settled by the command's own outcome, never by the
   * timeout: a command that timed out may still be applied, so it is not sent again while
   * it may be; one that failed is kept and sent again under its id, which the script
   * applies at most once.
   */
  call(clock: Clock.Clock, withdraw: boolean): Effect.Effect<boolean, unknown> {
    return Effect.suspend(() => {
      const status = this.unready()
      if (status !== undefined) return Effect.fail(new Unreachable(status))
      const again = !withdraw && this.resend.length > 0
      const batch = again ? this.resend.shift()! : this.take()
      const s = this.resolved.settings
      const age = batch.runs > 0 ? Math.max(0, Math.round(monotonicMillis(clock) - batch.first)) : 0
      const keys = [this.resolved.key, `${this.batchPrefix}${batch.id}`]
      const args = [
        String(batch.runs),
        String(age),
        withdraw ? "1" : "0",
        String(batch.owed),
        String(s.depositUnits),
        String(s.reserveUnits),
        String(s.withdrawUnits),
        String(s.bucketMillis),
        String(s.buckets),
        String(s.ttlMillis)
      ]
      const client = this.client
      const sent = (client.evalsha(SHA, 2, ...keys, ...args) as Promise<[number, string]>).catch((e: unknown) => {
        if (e instanceof Error && e.message.includes("NOSCRIPT")) {
          return client.eval(SCRIPT, 2, ...keys, ...args) as Promise<[number, string]>
        }
        throw e
      })
      if (!withdraw) this.flushing = true
      if (!again) this.unconfirmed += batch.runs
      sent.then(
        () => {
          if (!withdraw) this.flushing = false
          this.unconfirmed -= batch.runs
        },
        () => {
          if (!withdraw) this.flushing = false
          if (batch.runs > 0 || batch.owed > 0) {
            this.resend.push(batch)
            if (this.resend.length > MAX_RESEND) this.unconfirmed -= this.resend.shift()!.runs
          } else this.unconfirmed -= batch.runs
        }
      )
      const millis = this.resolved.timeoutMillis
      return Effect.tryPromise({ try: () => sent, catch: (e) => e }).pipe(
        Effect.timeoutFail({ duration: Duration.millis(millis), onTimeout: () => new NoAnswer(millis) }),
        // the timeout bounds real I/O: it runs on Effect's default Clock, so a virtual clock
        // (a TestClock, Timeline's) neither fires it at once nor holds it forever
        Effect.withClock(ioClock),
        Effect.map((reply) => Number(reply[0]) === 1)
      )
    })
  }

  /** A run starts: counted for Redis, and for the fallback while the store is away. */
  deposit(clock: Clock.Clock): void {
    if (this.pending === 0) this.first = monotonicMillis(clock)
    this.pending++
    const away = this.away
    if (away !== undefined) {
      away.runs++
      away.deposit(clock)
    }
  }

  /** A withdrawal decided locally (the store is away). */
  decide(clock: Clock.Clock): Effect.Effect<boolean> {
    const away = this.away
    if (away === undefined) return Effect.succeed(false)
    const s = this.resolved.settings
    const built = s.reserveUnits * Math.min(1, (monotonicMillis(clock) - away.since) / s.ttlMillis)
    if ((away.withdrawn + 1) * s.withdrawUnits > away.runs * s.depositUnits + built) return Effect.succeed(false)
    return Effect.flatMap(away.budget.tryWithdraw, (ok) => {
      if (!ok) return Effect.succeed(false)
      away.withdrawn++
      this.owed++
      return Effect.as(Metric.increment(fallbackWithdrawals), true)
    })
  }

  goAway(error: unknown, clock: Clock.Clock): Effect.Effect<void> {
    if (this.away !== undefined || this.closed) return Effect.void
    const s = this.resolved.settings
    return Effect.flatMap(
      RetryBudget.make({ percentCanRetry: s.percentCanRetry, ttl: s.ttl, minRetriesPerSecond: s.minRetriesPerSecond }),
      (budget) => {
        if (this.away !== undefined) return Effect.void
        const deposit = (budget as RetryBudget.RetryBudget & RetryBudget.UnsafeDepositing)[RetryBudget.UnsafeDeposit]
        // the runs not known to be in Redis are the process's recent ones: the fallback
        // starts with them (what it grants is sent to Redis later, so nothing is spent twice)
        const runs = this.pending + this.unconfirmed
        for (let i = 0; i < runs; i++) deposit(clock)
        this.away = { budget, deposit, since: monotonicMillis(clock), runs, withdrawn: 0 }
        return Effect.zipRight(
          Metric.increment(fallbacks),
          Effect.logWarning(
            `RedisRetryBudget ${this.resolved.key}: Redis is unreachable (${
              why(error)
            }); retries are decided by a local budget until it answers`
          )
        )
      }
    )
  }

  comeBack(): Effect.Effect<void> {
    if (this.away === undefined) return Effect.void
    this.away = undefined
    return Effect.logInfo(`RedisRetryBudget ${this.resolved.key}: Redis answers again; back to the shared budget`)
  }
}

/** @internal `RedisRetryBudget.make`: a scoped budget. */
export const make = (options: unknown): Effect.Effect<RetryBudget.RetryBudget, never, Scope.Scope> => {
  const resolved = resolve(options)
  return Effect.gen(function*() {
    const owned = !isClient(resolved.redis)
    const client = owned
      ? yield* Effect.acquireRelease(Effect.sync(() => makeClient(resolved.redis)), close)
      : resolved.redis as Redis
    // a server that is down at start is not an error: after at most 2 s of waiting for
    // the connection (less when it is refused), the budget starts locally and moves to
    // Redis when it answers
    const connecting = Duration.millis(Math.max(resolved.timeoutMillis, 2000))
    if (owned) {
      yield* Effect.promise(() => client.connect().catch(() => undefined)).pipe(
        Effect.timeout(connecting),
        Effect.ignore
      )
    } else if (client.status === "connecting" || client.status === "connect") {
      // the caller's client, still connecting: its first answer, ready or an error
      yield* Effect.async<void>((resume) => {
        const done = () => {
          client.off("ready", done)
          client.off("error", done)
          resume(Effect.void)
        }
        client.once("ready", done)
        client.once("error", done)
        return Effect.sync(() => {
          client.off("ready", done)
          client.off("error", done)
        })
      }).pipe(Effect.timeout(connecting), Effect.ignore)
    }
    const shared = new Shared(client, resolved)

    const flush = Effect.clockWith((clock) => {
      if (shared.flushing || shared.closed) return Effect.void
      if (shared.pending === 0 && shared.owed === 0 && shared.resend.length === 0 && shared.away === undefined) {
        return Effect.void
      }
      return shared.call(clock, false).pipe(
        Effect.matchEffect({
          onFailure: (e) => shared.goAway(e, clock),
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
        return !shared.flushing && client.status === "ready" &&
            (shared.pending > 0 || shared.owed > 0 || shared.resend.length > 0)
          ? Effect.ignore(Effect.clockWith((clock) => shared.call(clock, false)))
          : Effect.void
      })
    )

    const unsafeDeposit = (clock: Clock.Clock) => shared.deposit(clock)
    const budget: RetryBudget.RetryBudget & RetryBudget.UnsafeDepositing = {
      [RetryBudget.TypeId]: RetryBudget.TypeId,
      [RetryBudget.UnsafeDeposit]: unsafeDeposit,
      deposit: Effect.clockWith((clock) => {
        unsafeDeposit(clock)
        return Effect.void
      }),
      tryWithdraw: Effect.clockWith((clock) => {
        if (shared.away !== undefined) return shared.decide(clock)
        return shared.call(clock, true).pipe(
          Effect.catchAll((e) => Effect.zipRight(shared.goAway(e, clock), Effect.suspend(() => shared.decide(clock))))
        )
      })
    }
    return budget
  })
}

/** @internal */
export const layer = (options: unknown): Layer.Layer<RetryBudget.RetryBudget> =>
  Layer.scoped(RetryBudget.RetryBudget, make(options))
